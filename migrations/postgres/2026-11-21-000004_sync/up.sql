-- Offline sync: devices, processed mutations (for replays), held and skipped sequence numbers,
-- conflicts kept for supervisors, and the change feed phones pull from.

CREATE TABLE devices (
    id              TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users(id),
    device_key      TEXT NOT NULL,           -- the id the phone made (device_id at login)
    registered_at   TIMESTAMP NOT NULL,
    last_seen_at    TIMESTAMP,
    last_seq        BIGINT NOT NULL,         -- highest mutation seq processed, no gap below
    clock_skew_ms   BIGINT,                  -- server clock minus device clock at the last push
    revoked_at      TIMESTAMP,
    UNIQUE (user_id, device_key)
);

CREATE TABLE sync_mutations (
    id              TEXT PRIMARY KEY NOT NULL,   -- the phone's mutation id
    device_id       TEXT NOT NULL REFERENCES devices(id),
    seq             BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    result          TEXT NOT NULL,               -- JSON: the result sent back, replayed on duplicates
    device_time     TIMESTAMP NOT NULL,
    received_at     TIMESTAMP NOT NULL,
    UNIQUE (device_id, seq)
);

CREATE TABLE sync_backlog (
    device_id       TEXT NOT NULL REFERENCES devices(id),
    seq             BIGINT NOT NULL,
    status          TEXT NOT NULL,               -- held: waiting for a gap | skipped: a released gap
    mutation        TEXT,                        -- JSON of a held mutation
    received_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (device_id, seq)
);

CREATE TABLE sync_conflicts (
    id                  TEXT PRIMARY KEY NOT NULL,
    issue_id            TEXT NOT NULL REFERENCES issues(id),
    place_path          TEXT NOT NULL,
    mutation_id         TEXT NOT NULL,
    device_id           TEXT NOT NULL REFERENCES devices(id),
    user_id             TEXT NOT NULL REFERENCES users(id),
    kind                TEXT NOT NULL,           -- field | transition
    field               TEXT,
    incoming            TEXT NOT NULL,           -- JSON: what the phone sent (photos included)
    current_value       TEXT NOT NULL,           -- JSON: what the server had, which stood
    created_at          TIMESTAMP NOT NULL,
    resolved_at         TIMESTAMP,
    resolved_by         TEXT REFERENCES users(id),
    resolution          TEXT,
    resolution_comment  TEXT
);
CREATE INDEX sync_conflicts_open ON sync_conflicts(resolved_at, created_at);

-- The change feed. seq comes from change_counter, whose row stays locked until the writing
-- transaction commits, so feed order is commit order and a cursor never skips a late commit.
CREATE TABLE change_feed (
    seq                 BIGINT PRIMARY KEY NOT NULL,
    entity              TEXT NOT NULL,
    entity_id           TEXT NOT NULL,
    place_path          TEXT NOT NULL,
    unit_path           TEXT,
    previous_unit_path  TEXT,                    -- set when an issue left a unit (reassigned)
    changed_at          TIMESTAMP NOT NULL
);

CREATE TABLE change_counter (
    id      INTEGER PRIMARY KEY NOT NULL,
    value   BIGINT NOT NULL
);
INSERT INTO change_counter (id, value) VALUES (1, 0);

-- Issues that existed before the feed: one entry each, so a first pull finds them.
INSERT INTO change_feed (seq, entity, entity_id, place_path, unit_path, previous_unit_path, changed_at)
SELECT ROW_NUMBER() OVER (ORDER BY created_at, id), 'issue', id, place_path, responsible_unit_path, NULL, updated_at
FROM issues;
UPDATE change_counter SET value = (SELECT COUNT(*) FROM issues) WHERE id = 1;
