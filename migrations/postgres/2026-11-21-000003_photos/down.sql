DROP TABLE photo_attachments;
DROP TABLE photos;
DROP TABLE uploads;
