-- 公文: document numbers (文号) per issuing office and year, and the documents that hold them.
-- A counter row is bumped inside the transaction that records the document, so a number is
-- never handed out twice and a rolled-back document gives its number back.
CREATE TABLE document_counters (
    office_id  TEXT NOT NULL REFERENCES org_units (id),
    year       INTEGER NOT NULL,
    last_value INTEGER NOT NULL,
    PRIMARY KEY (office_id, year)
);
-- One row per issued document: a notice per issue, a bulletin per place and period. Printing it
-- again shows the same number and date.
CREATE TABLE official_documents (
    id         TEXT PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    office_id  TEXT NOT NULL REFERENCES org_units (id),
    year       INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    number     TEXT NOT NULL,
    issued_on  DATE NOT NULL,
    created_by TEXT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    UNIQUE (kind, subject),
    UNIQUE (office_id, year, seq)
);
