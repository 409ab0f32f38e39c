ALTER TABLE issues DROP COLUMN instructions;
ALTER TABLE issues DROP COLUMN progress_on;
