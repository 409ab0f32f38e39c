-- The dashboard's counts (db::issues::grouped_counts) group the open issues of a subtree by
-- (place_path, state, deadline, progress_on): with those columns in one index, in that order, the
-- count is an index-only range read that groups as it goes, in place of reading every row and
-- sorting them (issue 17: 100,000 issues).
CREATE INDEX issues_open_tally ON issues(place_path, state, deadline, progress_on);
