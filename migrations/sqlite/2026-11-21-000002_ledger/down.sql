DROP TABLE issue_events;
DROP TABLE issues;
DROP TABLE ledger_counters;
DROP TABLE issue_categories;
