-- Bank statements and their reconciliation with what students owe.

CREATE TABLE statements (
    id            INTEGER PRIMARY KEY,
    file          TEXT NOT NULL,
    sheet         TEXT,
    imported_at   TEXT NOT NULL,
    imported_by   TEXT NOT NULL,
    rows          INTEGER NOT NULL,
    new_lines     INTEGER NOT NULL,
    already_known INTEGER NOT NULL
);

-- One line of a statement. `fingerprint` (date, amount, label, and the line's rank among
-- identical lines of its file) makes re-imports and overlapping statements add nothing while
-- two genuinely identical lines of one day stay two lines.
CREATE TABLE statement_lines (
    id           INTEGER PRIMARY KEY,
    statement_id INTEGER NOT NULL REFERENCES statements (id),
    fingerprint  TEXT NOT NULL UNIQUE,
    source_row   INTEGER NOT NULL,
    date         TEXT NOT NULL,
    value_date   TEXT,
    label        TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('matched', 'to_review', 'unmatched', 'debit')),
    score        INTEGER,
    reasons      TEXT NOT NULL DEFAULT '[]',     -- JSON: the reasons of the best candidate
    suggestions  TEXT NOT NULL DEFAULT '[]'      -- JSON: ranked candidates with their reasons
);
CREATE INDEX statement_lines_status ON statement_lines (status);
CREATE INDEX statement_lines_date ON statement_lines (date);

-- The payments a line was turned into (several when split between students).
CREATE TABLE line_payments (
    line_id    INTEGER NOT NULL REFERENCES statement_lines (id),
    payment_id INTEGER NOT NULL REFERENCES payments (id),
    PRIMARY KEY (line_id, payment_id)
);

-- Payer names learned from confirmed matches (a parent, a sponsor), normalized.
CREATE TABLE payer_aliases (
    id         INTEGER PRIMARY KEY,
    student_id INTEGER NOT NULL REFERENCES students (id),
    alias      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (student_id, alias)
);

-- Saved column mappings for statements whose headers Régie cannot recognise on its own.
CREATE TABLE import_profiles (
    name    TEXT PRIMARY KEY,
    mapping TEXT NOT NULL -- JSON
);
CREATE INDEX line_payments_payment ON line_payments (payment_id);
CREATE INDEX payments_reverses ON payments (reverses);
