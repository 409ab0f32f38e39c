DROP TABLE change_counter;
DROP TABLE change_feed;
DROP TABLE sync_conflicts;
DROP TABLE sync_backlog;
DROP TABLE sync_mutations;
DROP TABLE devices;
