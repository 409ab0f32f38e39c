ALTER TABLE issues DROP COLUMN progress_on;
