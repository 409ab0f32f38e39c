-- The events of one kind in a time range (the reports' reopenings, 反弹, of a period): without it
-- the planner reads every issue of the subtree and looks up its events one by one.
CREATE INDEX issue_events_action_time ON issue_events(action, server_time);
