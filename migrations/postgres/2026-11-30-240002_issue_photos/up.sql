-- Which photos each issue's history names (report, submissions, other steps), whether or not the
-- photo was uploaded "for" the issue: read access and the reuse check follow these links, so a
-- photo uploaded without an owner and then named by two issues is seen by both issues' readers
-- and flagged reused. The photo may not have arrived yet, hence no foreign key to photos.
CREATE TABLE issue_photos (
    issue_id     TEXT NOT NULL REFERENCES issues(id),
    photo_sha256 TEXT NOT NULL,
    PRIMARY KEY (issue_id, photo_sha256)
);
CREATE INDEX issue_photos_photo ON issue_photos(photo_sha256);
INSERT INTO issue_photos (issue_id, photo_sha256)
SELECT DISTINCT e.issue_id, lower(j) FROM issue_events e, json_array_elements_text(e.photos::json) j
ON CONFLICT DO NOTHING;
