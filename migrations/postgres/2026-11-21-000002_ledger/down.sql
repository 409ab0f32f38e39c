DROP TABLE issue_events;
DROP FUNCTION issue_events_append_only();
DROP TABLE issues;
DROP TABLE ledger_counters;
DROP TABLE issue_categories;
