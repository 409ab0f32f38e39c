DROP INDEX issues_deadline;
CREATE INDEX issues_deadline ON issues(deadline);
