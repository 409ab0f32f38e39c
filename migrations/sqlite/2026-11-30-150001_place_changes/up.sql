-- 区划调整: what happened to a place after it was made (renamed, retired), append-only. A place
-- with a `retire` entry (or under one) takes no new issues; its issues and their history stay.
CREATE TABLE place_changes (
    id          TEXT PRIMARY KEY NOT NULL,
    org_unit_id TEXT NOT NULL REFERENCES org_units (id),
    kind        TEXT NOT NULL,
    data        TEXT NOT NULL,
    actor_id    TEXT REFERENCES users (id),
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX place_changes_by_place ON place_changes (org_unit_id, kind);
