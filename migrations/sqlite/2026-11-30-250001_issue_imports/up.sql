-- Every import of a handed-down list (交办清单): who, when, which file (its SHA-256, so the same
-- file is not imported twice), how many rows, and what it did; undone imports keep their record.
CREATE TABLE issue_imports (
    id              TEXT PRIMARY KEY NOT NULL,
    list_key        TEXT NOT NULL,          -- the list's name: given, its title row, or the file name
    file_name       TEXT NOT NULL,
    file_sha256     TEXT NOT NULL,
    place_path      TEXT NOT NULL,          -- the nearest place holding every row
    imported_by     TEXT NOT NULL REFERENCES users(id),
    imported_at     TIMESTAMP NOT NULL,
    row_count       INTEGER NOT NULL,       -- data rows in the file
    created         INTEGER NOT NULL,
    updated         INTEGER NOT NULL,
    skipped         INTEGER NOT NULL,
    undone_at       TIMESTAMP,
    undone_by       TEXT REFERENCES users(id)
);
CREATE INDEX issue_imports_file ON issue_imports(file_sha256);
CREATE INDEX issue_imports_when ON issue_imports(imported_at);

-- The stable key of each row (list + 序号) and the issue it made: a corrected re-send of the list
-- updates or skips that issue instead of making another.
CREATE TABLE issue_import_rows (
    list_key        TEXT NOT NULL,
    row_key         TEXT NOT NULL,          -- 序号 as written
    issue_id        TEXT NOT NULL REFERENCES issues(id),
    created_by      TEXT NOT NULL REFERENCES issue_imports(id),
    last_import_id  TEXT NOT NULL REFERENCES issue_imports(id),
    content_sha256  TEXT NOT NULL,          -- of the row's cells, to tell a corrected row
    issue_version   INTEGER NOT NULL,       -- the issue's version after that import wrote it
    PRIMARY KEY (list_key, row_key)
);
CREATE INDEX issue_import_rows_import ON issue_import_rows(created_by);
