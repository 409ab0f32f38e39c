-- A released gap in a device's sequence, as one range however wide (issue 13: a release costs
-- work proportional to what is held, not to the gap). A number in a range that has no recorded
-- mutation yet is still applied if it arrives.
CREATE TABLE sync_skipped (
    device_id       TEXT NOT NULL REFERENCES devices(id),
    first_seq       BIGINT NOT NULL,
    last_seq        BIGINT NOT NULL,
    released_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (device_id, first_seq)
);
