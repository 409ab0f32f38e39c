DROP TRIGGER devices_not_truncated ON devices;
DROP TRIGGER devices_keep_key ON devices;
DROP TRIGGER devices_stay ON devices;
DROP TRIGGER issues_not_truncated ON issues;
DROP TRIGGER issues_keep_key ON issues;
DROP TRIGGER issues_stay ON issues;
DROP TRIGGER issue_categories_not_truncated ON issue_categories;
DROP TRIGGER issue_categories_keep_key ON issue_categories;
DROP TRIGGER issue_categories_stay ON issue_categories;
DROP TRIGGER users_not_truncated ON users;
DROP TRIGGER users_keep_key ON users;
DROP TRIGGER users_stay ON users;
DROP TRIGGER org_units_not_truncated ON org_units;
DROP TRIGGER org_units_keep_key ON org_units;
DROP TRIGGER org_units_stay ON org_units;
DROP FUNCTION referenced_rows_stay();

DROP TRIGGER sync_mutations_references_updated ON sync_mutations;
DROP TRIGGER sync_mutations_references_inserted ON sync_mutations;
DROP TRIGGER issue_events_references_inserted ON issue_events;
DROP TRIGGER issues_references_updated ON issues;
DROP TRIGGER issues_references_inserted ON issues;
DROP FUNCTION sync_mutations_check_references();
DROP FUNCTION issue_events_check_references();
DROP FUNCTION issues_check_references();

ALTER TABLE sync_mutations
    ADD CONSTRAINT sync_mutations_device_id_fkey FOREIGN KEY (device_id) REFERENCES devices(id);
ALTER TABLE issue_events
    ADD CONSTRAINT issue_events_issue_id_fkey FOREIGN KEY (issue_id) REFERENCES issues(id),
    ADD CONSTRAINT issue_events_actor_id_fkey FOREIGN KEY (actor_id) REFERENCES users(id);
ALTER TABLE issues
    ADD CONSTRAINT issues_ledger_scope_id_fkey FOREIGN KEY (ledger_scope_id) REFERENCES org_units(id),
    ADD CONSTRAINT issues_place_id_fkey FOREIGN KEY (place_id) REFERENCES org_units(id),
    ADD CONSTRAINT issues_category_fkey FOREIGN KEY (category) REFERENCES issue_categories(code),
    ADD CONSTRAINT issues_reporter_id_fkey FOREIGN KEY (reporter_id) REFERENCES users(id);
