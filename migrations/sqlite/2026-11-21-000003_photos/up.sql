-- Photos: tus uploads in progress, stored photos (one row per distinct content, keyed by SHA-256)
-- and attachments (one row per completed upload: who sent which bytes, for what and for whom).
-- Common types only; DOUBLE PRECISION on PostgreSQL is REAL (8-byte) on SQLite.

CREATE TABLE uploads (
    id              TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    length          BIGINT NOT NULL,            -- Upload-Length, bytes
    upload_offset   BIGINT NOT NULL,            -- bytes received and on disk in the staging file
    sha256          TEXT NOT NULL,              -- declared by the client (hex), checked on completion
    filename        TEXT,
    purpose         TEXT NOT NULL,              -- before | after | progress | inspection
    owner_kind      TEXT,                       -- issue | inspection
    owner_id        TEXT,
    metadata        TEXT NOT NULL,              -- the whole Upload-Metadata, decoded, as JSON
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    completed_at    TIMESTAMP,
    photo_sha256    TEXT                        -- set on completion
);
CREATE INDEX uploads_user ON uploads(user_id);
CREATE INDEX uploads_expires ON uploads(expires_at);

CREATE TABLE photos (
    sha256          TEXT PRIMARY KEY NOT NULL,  -- hex; the object key is derived from it
    format          TEXT NOT NULL,              -- jpeg | png | webp | heif
    content_type    TEXT NOT NULL,
    bytes           BIGINT NOT NULL,
    width           INTEGER,
    height          INTEGER,
    taken_at        TIMESTAMP,                  -- EXIF DateTimeOriginal as written (camera local time)
    taken_at_offset TEXT,                       -- EXIF OffsetTimeOriginal, e.g. +08:00, when present
    gps_lat         REAL,             -- WGS-84 degrees
    gps_lon         REAL,
    gps_alt         REAL,             -- metres above sea level
    gps_direction   REAL,             -- GPSImgDirection, degrees
    make            TEXT,
    model           TEXT,
    orientation     INTEGER,                    -- EXIF 1..8
    phash           TEXT,                       -- perceptual hash (hex), compare by Hamming distance
    flags           TEXT NOT NULL,              -- JSON array: exif_unreadable, no_exif, no_gps, damaged, no_thumbnail
    thumbnails      TEXT NOT NULL,              -- JSON array of the sizes stored
    uploaded_by     TEXT NOT NULL REFERENCES users(id),
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX photos_phash ON photos(phash);

CREATE TABLE photo_attachments (
    id              TEXT PRIMARY KEY NOT NULL,  -- the upload's id
    photo_sha256    TEXT NOT NULL REFERENCES photos(sha256),
    uploaded_by     TEXT NOT NULL REFERENCES users(id),
    purpose         TEXT NOT NULL,
    owner_kind      TEXT,
    owner_id        TEXT,
    filename        TEXT,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX photo_attachments_photo ON photo_attachments(photo_sha256);
CREATE INDEX photo_attachments_owner ON photo_attachments(owner_kind, owner_id);
CREATE INDEX photo_attachments_uploader ON photo_attachments(uploaded_by);
