-- 亮灯 and 领导批示 (docs/ledger.md#lights). `progress_on` is the office day the unit last signed
-- for, reported progress on or got back a returned issue: the light turns yellow when a
-- rectifying issue has had no progress report for longer than the office's interval.
-- `instructions` holds the issue's 批示 (JSON array, oldest first) so that phones receive them
-- with the issue.
ALTER TABLE issues ADD COLUMN progress_on DATE;
ALTER TABLE issues ADD COLUMN instructions TEXT NOT NULL DEFAULT '[]';
UPDATE issues SET progress_on = date(updated_at) WHERE state = 'rectifying';
