-- A line put on hold by an accountant (waiting for the payer's answer, a document): why, who
-- and when. It stays to decide; once matched in full the hold is lifted.
ALTER TABLE statement_lines ADD COLUMN held_reason TEXT;
ALTER TABLE statement_lines ADD COLUMN held_by TEXT;
ALTER TABLE statement_lines ADD COLUMN held_at TEXT;

-- Offline reconciliation sessions.
--
-- In the office: each session checked out, the statement lines it took with their version at
-- check-out (how many payments and reversals the line was linked to, and what they added up
-- to), and what became of each decision it brought back (applied, or a conflict and why).
CREATE TABLE sessions (
    name           TEXT PRIMARY KEY,
    file           TEXT NOT NULL,
    checked_out_at TEXT NOT NULL,
    checked_out_by TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('out', 'checked_in', 'discarded')),
    closed_at      TEXT,
    closed_by      TEXT
);

CREATE TABLE session_lines (
    session        TEXT NOT NULL REFERENCES sessions (name),
    line_id        INTEGER NOT NULL REFERENCES statement_lines (id),
    links          INTEGER NOT NULL,
    assigned_cents INTEGER NOT NULL,
    PRIMARY KEY (session, line_id)
);
CREATE INDEX session_lines_line ON session_lines (line_id);

CREATE TABLE session_returns (
    session     TEXT NOT NULL REFERENCES sessions (name),
    seq         INTEGER NOT NULL,
    line_id     INTEGER NOT NULL REFERENCES statement_lines (id),
    outcome     TEXT NOT NULL CHECK (outcome IN ('applied', 'conflict')),
    links       INTEGER NOT NULL,
    reason      TEXT,
    office      TEXT,
    returned_at TEXT NOT NULL,
    returned_by TEXT NOT NULL,
    PRIMARY KEY (session, seq)
);

-- In a session file: the office and session it comes from, the version of each row it took,
-- and the decisions taken on it, in order: what a check-in replays.
CREATE TABLE session_origin (
    name           TEXT PRIMARY KEY,
    office         TEXT NOT NULL,
    checked_out_at TEXT NOT NULL,
    checked_out_by TEXT NOT NULL
);

CREATE TABLE session_versions (
    kind    TEXT NOT NULL CHECK (kind IN ('line', 'installment')),
    row_id  INTEGER NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (kind, row_id)
);

CREATE TABLE session_decisions (
    seq            INTEGER PRIMARY KEY,
    action         TEXT NOT NULL CHECK (action IN ('confirm', 'undo', 'hold')),
    line_id        INTEGER NOT NULL,
    student_number TEXT,
    amount_cents   INTEGER,
    payment_id     INTEGER,
    reason         TEXT,
    date           TEXT NOT NULL,
    actor          TEXT NOT NULL,
    at             TEXT NOT NULL
);
