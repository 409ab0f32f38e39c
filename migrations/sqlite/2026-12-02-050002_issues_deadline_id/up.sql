-- The deadline orders of the issue list page through the dated rows by (deadline, id), then the
-- undated ones by id (db::issues::by_deadline): with the id in the index a page is a range read
-- that stops after its rows, in place of sorting every matching row.
DROP INDEX issues_deadline;
CREATE INDEX issues_deadline ON issues(deadline, id);
