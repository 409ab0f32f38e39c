-- A restore from a backup (`closeout restore`, `--renew-epoch-only`) marks every device: what it
-- pushed after the backup is not in the restored database, and the phone has deleted it (it was
-- acknowledged). The device's next push then says where it stands: the numbers before its first
-- one are recorded as skipped instead of holding everything behind a gap that will never fill.
ALTER TABLE devices ADD COLUMN restored_at TIMESTAMP;
