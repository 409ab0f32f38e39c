DROP TABLE scope_resets;
