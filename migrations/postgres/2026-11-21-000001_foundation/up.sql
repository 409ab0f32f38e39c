-- The place tree, people, their roles on subtrees, and refresh tokens.
-- Common types only (TEXT ids, UTC TIMESTAMP, BOOLEAN) so one diesel schema serves both backends.

CREATE TABLE org_units (
    id          TEXT PRIMARY KEY NOT NULL,
    code        TEXT UNIQUE,                 -- 12-digit division code where one exists
    name        TEXT NOT NULL,
    level       TEXT NOT NULL,               -- province | city | county | township | village | grid
    parent_id   TEXT REFERENCES org_units(id),
    path        TEXT NOT NULL UNIQUE,        -- '/<root id>/…/<own id>/': a subtree is a path prefix
    depth       INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX org_units_parent ON org_units(parent_id);

CREATE TABLE users (
    id                  TEXT PRIMARY KEY NOT NULL,
    username            TEXT NOT NULL UNIQUE,
    display_name        TEXT NOT NULL,
    phone               TEXT,
    password_hash       TEXT NOT NULL,
    active              BOOLEAN NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);

CREATE TABLE role_assignments (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role         TEXT NOT NULL,
    org_unit_id  TEXT REFERENCES org_units(id),   -- NULL: the whole system
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX role_assignments_user ON role_assignments(user_id);
CREATE INDEX role_assignments_org_unit ON role_assignments(org_unit_id);

CREATE TABLE refresh_tokens (
    id              TEXT PRIMARY KEY NOT NULL,
    family_id       TEXT NOT NULL,           -- one chain of rotations for one login on one device
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    device_id       TEXT NOT NULL,
    token_hash      TEXT NOT NULL UNIQUE,    -- SHA-256 of the opaque token; the token is never stored
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    rotated_at      TIMESTAMP,
    revoked_at      TIMESTAMP,
    revoked_reason  TEXT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_user_device ON refresh_tokens(user_id, device_id);
