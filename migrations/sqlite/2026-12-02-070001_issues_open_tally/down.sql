DROP INDEX issues_open_tally;
