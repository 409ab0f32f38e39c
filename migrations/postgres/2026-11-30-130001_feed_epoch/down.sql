DROP TABLE feed_epoch;
