DROP TABLE issue_photos;
