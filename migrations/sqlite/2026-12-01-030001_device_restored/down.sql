ALTER TABLE devices DROP COLUMN restored_at;
