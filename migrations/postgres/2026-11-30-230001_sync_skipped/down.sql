DROP TABLE sync_skipped;
