-- 亮灯 (docs/ledger.md#lights). `progress_on` is the office day the unit last signed for,
-- reported progress on or got back a returned issue: the light turns yellow when a rectifying
-- issue has had no progress report for longer than the office's interval.
-- 领导批示 need no column: they are the `instruct` events of the (insert-only) history, read from
-- there for the issue page and for pulls; the issues table is also at diesel's 32-column limit.
ALTER TABLE issues ADD COLUMN progress_on DATE;
UPDATE issues SET progress_on = CAST(updated_at AS DATE) WHERE state = 'rectifying';
