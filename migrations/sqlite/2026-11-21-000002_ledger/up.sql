-- The rectification ledger (整改台账): categories, per-county ledger numbers, issues and their
-- append-only history.

CREATE TABLE issue_categories (
    code        TEXT PRIMARY KEY NOT NULL,
    name_zh     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    parent_code TEXT REFERENCES issue_categories(code),
    sort_order  INTEGER NOT NULL,
    active      BOOLEAN NOT NULL
);

-- One counter per ledger scope (the county) and year: incremented inside the transaction that
-- creates the issue, so numbers are unique and gap-free even with several servers.
CREATE TABLE ledger_counters (
    scope_id    TEXT NOT NULL REFERENCES org_units(id),
    year        INTEGER NOT NULL,
    last_value  INTEGER NOT NULL,
    PRIMARY KEY (scope_id, year)
);

CREATE TABLE issues (
    id                      TEXT PRIMARY KEY NOT NULL,
    ledger_scope_id         TEXT NOT NULL REFERENCES org_units(id),
    ledger_no               TEXT NOT NULL,          -- '2026-0000123': year and number within the scope
    title                   TEXT NOT NULL,
    description             TEXT NOT NULL,
    category                TEXT NOT NULL REFERENCES issue_categories(code),
    severity                TEXT NOT NULL,
    source                  TEXT NOT NULL,
    place_id                TEXT NOT NULL REFERENCES org_units(id),
    place_path              TEXT NOT NULL,
    lat                     REAL,
    lon                     REAL,
    accuracy_m              REAL,
    address                 TEXT,
    reporter_id             TEXT REFERENCES users(id),
    responsible_unit_id     TEXT REFERENCES org_units(id),
    responsible_unit_path   TEXT,
    responsible_user_id     TEXT REFERENCES users(id),
    target                  TEXT,
    deadline                DATE,
    extension_deadline      DATE,          -- a pending extension request
    extension_reason        TEXT,
    escalation_level        INTEGER NOT NULL,
    reopen_count            INTEGER NOT NULL,
    state                   TEXT NOT NULL,
    duplicate_of            TEXT REFERENCES issues(id),
    version                 INTEGER NOT NULL,   -- +1 on every change; the history's seq
    assigned_at             TIMESTAMP,
    closed_at               TIMESTAMP,
    created_at              TIMESTAMP NOT NULL,
    updated_at              TIMESTAMP NOT NULL,
    UNIQUE (ledger_scope_id, ledger_no)
);
CREATE INDEX issues_created ON issues(created_at, id);
CREATE INDEX issues_place ON issues(place_path, created_at);
CREATE INDEX issues_responsible ON issues(responsible_unit_path, created_at);
-- No index leads with state: it has a handful of values, and SQLite would pick it and then sort
-- tens of thousands of rows, where scanning issues_created newest-first finds a page at once
-- (docs/benchmarks.md). The deadline index serves the escalation scheduler.
CREATE INDEX issues_deadline ON issues(deadline);

CREATE TABLE issue_events (
    id              TEXT PRIMARY KEY NOT NULL,
    issue_id        TEXT NOT NULL REFERENCES issues(id),
    seq             INTEGER NOT NULL,
    action          TEXT NOT NULL,          -- report | import | assign | … | escalate | comment
    from_state      TEXT,
    to_state        TEXT NOT NULL,
    actor_id        TEXT REFERENCES users(id),
    actor_role      TEXT NOT NULL,          -- a role, or 'system' for the scheduler
    device_time     TIMESTAMP,
    server_time     TIMESTAMP NOT NULL,
    lat             REAL,
    lon             REAL,
    accuracy_m      REAL,
    comment         TEXT,
    photos          TEXT NOT NULL,          -- JSON array of SHA-256
    data            TEXT NOT NULL,          -- JSON: what the action set (deadline, unit, …)
    UNIQUE (issue_id, seq)
);

-- The history is the legal record: never updated, never deleted.
CREATE TRIGGER issue_events_no_update BEFORE UPDATE ON issue_events
BEGIN SELECT RAISE(ABORT, 'issue history is append-only'); END;
CREATE TRIGGER issue_events_no_delete BEFORE DELETE ON issue_events
BEGIN SELECT RAISE(ABORT, 'issue history is append-only'); END;

-- The categories DOMAIN.md names; admins add more.
INSERT INTO issue_categories (code, name_zh, name_en, parent_code, sort_order, active) VALUES
    ('three_piles', '三堆（垃圾堆、柴草堆、粪土堆）', 'Three piles (rubbish, firewood, manure)', NULL, 10, TRUE),
    ('illegal_structure', '乱搭乱建', 'Illegal structure', NULL, 20, TRUE),
    ('graffiti_ads', '乱贴乱画、小广告', 'Graffiti and small ads', NULL, 30, TRUE),
    ('straw_burning', '秸秆焚烧', 'Straw burning', NULL, 40, TRUE),
    ('ditch_sewage', '沟渠、污水', 'Ditches and sewage', NULL, 50, TRUE),
    ('dry_toilet', '旱厕', 'Dry toilets', NULL, 60, TRUE),
    ('frontage_duty', '门前三包', 'Frontage duty', NULL, 70, TRUE),
    ('street_occupation', '占道经营', 'Street occupation', NULL, 80, TRUE),
    ('outside_shop', '店外经营', 'Business outside the shop', NULL, 90, TRUE),
    ('parking', '乱停车', 'Illegal parking', NULL, 100, TRUE),
    ('shop_sign', '店招标牌', 'Shop signs', NULL, 110, TRUE),
    ('road', '道路（路肩、排水、路面、占用）', 'Roads (shoulders, drains, surface, misuse)', NULL, 120, TRUE),
    ('river_reservoir', '河湖库', 'Rivers and reservoirs', NULL, 130, TRUE),
    ('market_business', '市场和小经营（证照、消防通道）', 'Markets and small businesses (licences, fire exits)', NULL, 140, TRUE),
    ('pest_vector', '病媒生物防制', 'Pest-vector control', NULL, 150, TRUE),
    ('key_project', '重点项目（手续、开工、进度、质量安全）', 'Key projects (permits, start, progress, quality and safety)', NULL, 160, TRUE),
    ('clean_heating', '清洁取暖', 'Household clean heating', NULL, 170, TRUE),
    ('other', '其他', 'Other', NULL, 180, TRUE);
