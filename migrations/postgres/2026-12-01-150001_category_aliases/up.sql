-- Categories as counties word them (污水直排, 乱贴乱画, 柴草堆…), mapped to the taxonomy for the
-- 交办清单 importer. `county_id` NULL: a shipped default, for every county (a system admin edits
-- those); otherwise the county whose lists use the wording (its admins edit them). A county's
-- alias wins over a default with the same wording.
CREATE TABLE category_aliases (
    id            TEXT PRIMARY KEY NOT NULL,
    county_id     TEXT REFERENCES org_units (id),
    alias         TEXT NOT NULL,
    category_code TEXT NOT NULL REFERENCES issue_categories (code),
    created_by    TEXT REFERENCES users (id),
    created_at    TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX category_aliases_by_wording ON category_aliases (COALESCE(county_id, ''), alias);
INSERT INTO category_aliases (id, county_id, alias, category_code, created_by, created_at) VALUES
    ('0193f000-0000-7000-8000-00000000a001', NULL, '垃圾堆放', 'three_piles', NULL, CURRENT_TIMESTAMP),
    ('0193f000-0000-7000-8000-00000000a002', NULL, '垃圾堆', 'three_piles', NULL, CURRENT_TIMESTAMP),
    ('0193f000-0000-7000-8000-00000000a003', NULL, '柴草堆', 'three_piles', NULL, CURRENT_TIMESTAMP),
    ('0193f000-0000-7000-8000-00000000a004', NULL, '柴草乱堆', 'three_piles', NULL, CURRENT_TIMESTAMP),
    ('0193f000-0000-7000-8000-00000000a005', NULL, '粪土堆', 'three_piles', NULL, CURRENT_TIMESTAMP),
    ('0193f000-0000-7000-8000-00000000a006', NULL, '乱贴乱画', 'graffiti_ads', NULL, CURRENT_TIMESTAMP),
    ('0193f000-0000-7000-8000-00000000a007', NULL, '小广告', 'graffiti_ads', NULL, CURRENT_TIMESTAMP),
    ('0193f000-0000-7000-8000-00000000a008', NULL, '污水直排', 'ditch_sewage', NULL, CURRENT_TIMESTAMP),
    ('0193f000-0000-7000-8000-00000000a009', NULL, '污水乱排', 'ditch_sewage', NULL, CURRENT_TIMESTAMP),
    ('0193f000-0000-7000-8000-00000000a00a', NULL, '沟渠', 'ditch_sewage', NULL, CURRENT_TIMESTAMP),
    ('0193f000-0000-7000-8000-00000000a00b', NULL, '私搭乱建', 'illegal_structure', NULL, CURRENT_TIMESTAMP),
    ('0193f000-0000-7000-8000-00000000a00c', NULL, '违章建筑', 'illegal_structure', NULL, CURRENT_TIMESTAMP),
    ('0193f000-0000-7000-8000-00000000a00d', NULL, '焚烧秸秆', 'straw_burning', NULL, CURRENT_TIMESTAMP),
    ('0193f000-0000-7000-8000-00000000a00e', NULL, '乱停乱放', 'parking', NULL, CURRENT_TIMESTAMP);
