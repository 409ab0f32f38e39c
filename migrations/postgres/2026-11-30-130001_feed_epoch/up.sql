-- The change feed's epoch: a random id made with the database and made anew by a restore
-- (`db::changes::renew_epoch`). Pull cursors carry it; a cursor of another epoch gets a reset.
CREATE TABLE feed_epoch (
    id      INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    epoch   TEXT NOT NULL
);
INSERT INTO feed_epoch (id, epoch) VALUES (1, md5(random()::text || clock_timestamp()::text));
