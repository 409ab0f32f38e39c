-- Inspections (督查): versioned checklist templates, inspections with per-item results, the
-- issues their failures raised, conflicts between phones, schedules (cadences) and deductions
-- (错报、漏报、瞒报). Common types only; JSON as TEXT.

CREATE TABLE checklist_templates (
    id              TEXT PRIMARY KEY NOT NULL,   -- stable across versions (fixed for the defaults)
    code            TEXT NOT NULL UNIQUE,        -- e.g. village_environment
    current_version INTEGER NOT NULL,
    archived_at     TIMESTAMP,                   -- archived: no new inspections; old ones keep it
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

-- Every version ever made; never updated. An inspection names (template_id, version).
CREATE TABLE checklist_template_versions (
    template_id     TEXT NOT NULL REFERENCES checklist_templates(id),
    version         INTEGER NOT NULL,
    name            TEXT NOT NULL,
    content         TEXT NOT NULL,               -- JSON: TemplateContent (items, kinds, points, …)
    created_by      TEXT REFERENCES users(id),   -- NULL: shipped with Closeout
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (template_id, version)
);

CREATE TABLE inspections (
    id                      TEXT PRIMARY KEY NOT NULL,  -- made on the phone
    template_id             TEXT NOT NULL REFERENCES checklist_templates(id),
    template_version        INTEGER NOT NULL,
    place_id                TEXT NOT NULL REFERENCES org_units(id),
    place_path              TEXT NOT NULL,
    mode                    TEXT NOT NULL,              -- scheduled | special | unannounced | spot_check
    site                    TEXT NOT NULL,
    lat                     DOUBLE PRECISION,
    lon                     DOUBLE PRECISION,
    accuracy_m              DOUBLE PRECISION,
    address                 TEXT,
    team                    TEXT NOT NULL,              -- JSON array of user ids
    responsible_unit_id     TEXT REFERENCES org_units(id),
    responsible_user_id     TEXT REFERENCES users(id),
    schedule_id             TEXT,
    state                   TEXT NOT NULL,              -- in_progress | finished
    started_at              TIMESTAMP NOT NULL,         -- the phone's clock, as given
    finished_at             TIMESTAMP,
    finished_on             DATE,                       -- finished_at in the office's calendar (rankings)
    summary                 TEXT,
    score                   DOUBLE PRECISION NOT NULL,
    max_score               DOUBLE PRECISION NOT NULL,
    created_by              TEXT NOT NULL REFERENCES users(id),
    version                 INTEGER NOT NULL,
    created_at              TIMESTAMP NOT NULL,
    updated_at              TIMESTAMP NOT NULL
);
CREATE INDEX inspections_place ON inspections(place_path, started_at);
CREATE INDEX inspections_finished ON inspections(finished_on, place_path);

CREATE TABLE inspection_results (
    inspection_id   TEXT NOT NULL REFERENCES inspections(id),
    item_key        TEXT NOT NULL,
    rev             INTEGER NOT NULL,            -- 1, 2, …: the base a phone edits against
    result          TEXT NOT NULL,               -- JSON: ItemResult (value, not_applicable, note, photos)
    score           DOUBLE PRECISION NOT NULL,
    max_score       DOUBLE PRECISION NOT NULL,
    failed          BOOLEAN NOT NULL,
    recorded_by     TEXT NOT NULL REFERENCES users(id),
    device_time     TIMESTAMP,
    recorded_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (inspection_id, item_key)
);

-- The issue each failed item raised: at most one per item, ever (retries find it here).
CREATE TABLE inspection_issues (
    inspection_id   TEXT NOT NULL REFERENCES inspections(id),
    item_key        TEXT NOT NULL,
    issue_id        TEXT NOT NULL UNIQUE REFERENCES issues(id),
    assignment      TEXT,                        -- NULL | assigned | why it stayed reported
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (inspection_id, item_key)
);

-- Conflicts between phones on an inspection (an item, or a header field), for supervisors.
CREATE TABLE inspection_conflicts (
    id                  TEXT PRIMARY KEY NOT NULL,
    inspection_id       TEXT NOT NULL REFERENCES inspections(id),
    place_path          TEXT NOT NULL,
    kind                TEXT NOT NULL,           -- item | header
    field               TEXT NOT NULL,           -- the item key or header field
    mutation_id         TEXT,                    -- NULL when it came over REST
    device_id           TEXT REFERENCES devices(id),
    user_id             TEXT NOT NULL REFERENCES users(id),
    incoming            TEXT NOT NULL,           -- JSON
    current_value       TEXT NOT NULL,           -- JSON
    created_at          TIMESTAMP NOT NULL,
    resolved_at         TIMESTAMP,
    resolved_by         TEXT REFERENCES users(id),
    resolution          TEXT,
    resolution_comment  TEXT
);
CREATE INDEX inspection_conflicts_open ON inspection_conflicts(resolved_at, created_at);
CREATE INDEX inspection_conflicts_inspection ON inspection_conflicts(inspection_id);

-- A cadence: this template at this place every day / ISO week / month from starts_on.
CREATE TABLE inspection_schedules (
    id              TEXT PRIMARY KEY NOT NULL,
    place_id        TEXT NOT NULL REFERENCES org_units(id),
    place_path      TEXT NOT NULL,
    template_id     TEXT NOT NULL REFERENCES checklist_templates(id),
    cadence         TEXT NOT NULL,               -- daily | weekly | monthly
    team            TEXT NOT NULL,               -- JSON array of user ids (who is expected to go)
    starts_on       DATE NOT NULL,
    ends_on         DATE,
    created_by      TEXT NOT NULL REFERENCES users(id),
    created_at      TIMESTAMP NOT NULL,
    archived_at     TIMESTAMP
);
CREATE INDEX inspection_schedules_place ON inspection_schedules(place_path);

-- 错报、漏报、瞒报: points a supervisor takes off a place's ranking, with the reason.
CREATE TABLE deductions (
    id              TEXT PRIMARY KEY NOT NULL,
    place_id        TEXT NOT NULL REFERENCES org_units(id),
    place_path      TEXT NOT NULL,
    kind            TEXT NOT NULL,               -- wrong_report | missed_report | concealed_report
    points          DOUBLE PRECISION NOT NULL,
    reason          TEXT NOT NULL,
    occurred_on     DATE NOT NULL,               -- the day it counts for
    issue_id        TEXT REFERENCES issues(id),
    recorded_by     TEXT NOT NULL REFERENCES users(id),
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX deductions_place ON deductions(occurred_on, place_path);
