DROP INDEX issue_events_action_time;
