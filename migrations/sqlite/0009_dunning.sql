-- Reminders (relances): how many days after an installment's due date the first reminder, the
-- second and the block ("Blocage" on the order) come; a setting per school.
ALTER TABLE school_settings ADD COLUMN dunning_first_days INTEGER NOT NULL DEFAULT 7;
ALTER TABLE school_settings ADD COLUMN dunning_second_days INTEGER NOT NULL DEFAULT 21;
ALTER TABLE school_settings ADD COLUMN dunning_block_days INTEGER NOT NULL DEFAULT 45;

-- The reminder level an overdue installment has reached (1: first reminder, 2: second, 3: the
-- order blocked). Once the installment is paid (or cancelled) the level no longer counts, and
-- the next run clears it.
CREATE TABLE dunning (
    installment_id INTEGER PRIMARY KEY REFERENCES installments (id),
    level          INTEGER NOT NULL CHECK (level BETWEEN 1 AND 3),
    raised_on      TEXT NOT NULL,
    run_id         INTEGER NOT NULL
);
CREATE INDEX dunning_level ON dunning (level);

CREATE TABLE dunning_runs (
    id      INTEGER PRIMARY KEY,
    as_of   TEXT NOT NULL,
    at      TEXT NOT NULL,
    by      TEXT NOT NULL,
    letters INTEGER NOT NULL DEFAULT 0,
    raised  INTEGER NOT NULL DEFAULT 0,
    blocked INTEGER NOT NULL DEFAULT 0,
    cleared INTEGER NOT NULL DEFAULT 0
);
