DROP TABLE issue_import_rows;
DROP TABLE issue_imports;
