-- References checked per statement, as sets, on the rows a sync push writes in bulk.
--
-- A push of 500 new issues writes 500 issues, 500 history events and 500 mutation records with
-- COPY. A FOREIGN KEY is checked once per row, each check a query of its own (about 9 µs here):
-- seven per new issue, over half of the push's time in PostgreSQL (docs/benchmarks.md). The seven
-- references those rows always carry are checked below instead, once per statement, by one
-- anti-join over the statement's new rows; the rows they point at can be neither deleted nor given
-- another key, which is the half of the guarantee the foreign keys kept on the other side. The
-- application deletes none of them (users are deactivated, devices revoked, categories archived,
-- places and issues kept for the record), so nothing that worked before is refused.
--
-- The error is the foreign keys' own: SQLSTATE 23503 foreign_key_violation. References that are
-- empty when a row is written (responsible unit and person, duplicate_of) keep their foreign keys,
-- as does every other table. SQLite keeps all its foreign keys: they cost it little.

ALTER TABLE issues
    DROP CONSTRAINT issues_ledger_scope_id_fkey,
    DROP CONSTRAINT issues_place_id_fkey,
    DROP CONSTRAINT issues_category_fkey,
    DROP CONSTRAINT issues_reporter_id_fkey;
ALTER TABLE issue_events
    DROP CONSTRAINT issue_events_issue_id_fkey,
    DROP CONSTRAINT issue_events_actor_id_fkey;
ALTER TABLE sync_mutations
    DROP CONSTRAINT sync_mutations_device_id_fkey;

-- Child side: every reference in the statement's new rows exists.
CREATE FUNCTION issues_check_references() RETURNS trigger AS $$
DECLARE
    missing TEXT;
BEGIN
    -- Each distinct value once: a batch of 500 names a handful of places, one category, one user.
    SELECT m INTO missing FROM (
        SELECT 'place_id ' || r AS m FROM (SELECT DISTINCT place_id AS r FROM new_rows) n
            WHERE NOT EXISTS (SELECT 1 FROM org_units o WHERE o.id = n.r)
        UNION ALL
        SELECT 'ledger_scope_id ' || r FROM (SELECT DISTINCT ledger_scope_id AS r FROM new_rows) n
            WHERE NOT EXISTS (SELECT 1 FROM org_units o WHERE o.id = n.r)
        UNION ALL
        SELECT 'category ' || r FROM (SELECT DISTINCT category AS r FROM new_rows) n
            WHERE NOT EXISTS (SELECT 1 FROM issue_categories c WHERE c.code = n.r)
        UNION ALL
        SELECT 'reporter_id ' || r FROM (SELECT DISTINCT reporter_id AS r FROM new_rows) n
            WHERE r IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = n.r)
    ) dangling LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'issues: % does not exist', missing
            USING ERRCODE = 'foreign_key_violation', TABLE = 'issues';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION issue_events_check_references() RETURNS trigger AS $$
DECLARE
    missing TEXT;
BEGIN
    SELECT m INTO missing FROM (
        SELECT 'issue_id ' || r AS m FROM (SELECT DISTINCT issue_id AS r FROM new_rows) n
            WHERE NOT EXISTS (SELECT 1 FROM issues i WHERE i.id = n.r)
        UNION ALL
        SELECT 'actor_id ' || r FROM (SELECT DISTINCT actor_id AS r FROM new_rows) n
            WHERE r IS NOT NULL AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = n.r)
    ) dangling LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'issue_events: % does not exist', missing
            USING ERRCODE = 'foreign_key_violation', TABLE = 'issue_events';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION sync_mutations_check_references() RETURNS trigger AS $$
DECLARE
    missing TEXT;
BEGIN
    SELECT 'device_id ' || r INTO missing FROM (SELECT DISTINCT device_id AS r FROM new_rows) n
        WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = n.r)
        LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'sync_mutations: % does not exist', missing
            USING ERRCODE = 'foreign_key_violation', TABLE = 'sync_mutations';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

-- A trigger with a transition table serves one event, so inserts and updates each have one.
-- (issue_events is append-only: no updates to check.)
CREATE TRIGGER issues_references_inserted AFTER INSERT ON issues
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION issues_check_references();
CREATE TRIGGER issues_references_updated AFTER UPDATE ON issues
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION issues_check_references();
CREATE TRIGGER issue_events_references_inserted AFTER INSERT ON issue_events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION issue_events_check_references();
CREATE TRIGGER sync_mutations_references_inserted AFTER INSERT ON sync_mutations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_mutations_check_references();
CREATE TRIGGER sync_mutations_references_updated AFTER UPDATE ON sync_mutations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION sync_mutations_check_references();

-- Parent side: what those rows point at stays, under the same key.
CREATE FUNCTION referenced_rows_stay() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are referenced by issues, their history or sync records: they are never deleted or re-keyed', TG_TABLE_NAME
        USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER org_units_stay BEFORE DELETE ON org_units
    FOR EACH ROW EXECUTE FUNCTION referenced_rows_stay();
CREATE TRIGGER org_units_keep_key BEFORE UPDATE OF id ON org_units
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION referenced_rows_stay();
CREATE TRIGGER org_units_not_truncated BEFORE TRUNCATE ON org_units
    FOR EACH STATEMENT EXECUTE FUNCTION referenced_rows_stay();

CREATE TRIGGER users_stay BEFORE DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION referenced_rows_stay();
CREATE TRIGGER users_keep_key BEFORE UPDATE OF id ON users
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION referenced_rows_stay();
CREATE TRIGGER users_not_truncated BEFORE TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION referenced_rows_stay();

CREATE TRIGGER issue_categories_stay BEFORE DELETE ON issue_categories
    FOR EACH ROW EXECUTE FUNCTION referenced_rows_stay();
CREATE TRIGGER issue_categories_keep_key BEFORE UPDATE OF code ON issue_categories
    FOR EACH ROW WHEN (OLD.code IS DISTINCT FROM NEW.code) EXECUTE FUNCTION referenced_rows_stay();
CREATE TRIGGER issue_categories_not_truncated BEFORE TRUNCATE ON issue_categories
    FOR EACH STATEMENT EXECUTE FUNCTION referenced_rows_stay();

CREATE TRIGGER issues_stay BEFORE DELETE ON issues
    FOR EACH ROW EXECUTE FUNCTION referenced_rows_stay();
CREATE TRIGGER issues_keep_key BEFORE UPDATE OF id ON issues
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION referenced_rows_stay();
CREATE TRIGGER issues_not_truncated BEFORE TRUNCATE ON issues
    FOR EACH STATEMENT EXECUTE FUNCTION referenced_rows_stay();

CREATE TRIGGER devices_stay BEFORE DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION referenced_rows_stay();
CREATE TRIGGER devices_keep_key BEFORE UPDATE OF id ON devices
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION referenced_rows_stay();
CREATE TRIGGER devices_not_truncated BEFORE TRUNCATE ON devices
    FOR EACH STATEMENT EXECUTE FUNCTION referenced_rows_stay();
