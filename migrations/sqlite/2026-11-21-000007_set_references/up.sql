-- PostgreSQL only (see migrations/postgres/2026-11-21-000007_set_references): SQLite keeps its
-- foreign keys. The version exists here so both backends carry the same list.
SELECT 1;
