-- The card channel: the payment gateway's (Paybox) transaction exports, each transaction tied to
-- the installment it paid or failed to pay.

CREATE TABLE card_imports (
    id            INTEGER PRIMARY KEY,
    file          TEXT NOT NULL,
    sheet         TEXT,
    imported_at   TEXT NOT NULL,
    imported_by   TEXT NOT NULL,
    rows          INTEGER NOT NULL,
    new_rows      INTEGER NOT NULL DEFAULT 0,
    already_known INTEGER NOT NULL DEFAULT 0
);

-- One transaction of the gateway, unique by its transaction number: a re-import or an
-- overlapping export adds nothing. `outcome` is what Régie made of it.
CREATE TABLE card_transactions (
    id              INTEGER PRIMARY KEY,
    import_id       INTEGER NOT NULL REFERENCES card_imports (id),
    number          TEXT NOT NULL UNIQUE,
    source_row      INTEGER NOT NULL,
    date            TEXT NOT NULL,
    time            TEXT,
    call_number     TEXT,
    order_ref       TEXT NOT NULL,
    amount_cents    INTEGER NOT NULL CHECK (amount_cents > 0),
    currency        TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('debit', 'refund', 'chargeback')),
    status          TEXT NOT NULL CHECK (status IN ('captured', 'refused', 'cancelled')),
    response_code   TEXT,
    card_type       TEXT,
    remittance      TEXT,
    remittance_date TEXT,
    email           TEXT,
    student_id      INTEGER REFERENCES students (id),
    installment_id  INTEGER REFERENCES installments (id),
    payment_id      INTEGER REFERENCES payments (id),
    refund_id       INTEGER REFERENCES refunds (id),
    outcome         TEXT NOT NULL CHECK (outcome IN ('paid', 'refused', 'refunded', 'charged_back', 'cancelled', 'unknown')),
    reasons         TEXT NOT NULL DEFAULT '[]' -- JSON: how the transaction was tied to its installment, or why not
);
-- No secondary index: each one costs about 0.4 s on an export of 100,000 rows. What positions and
-- reminders look up per installment is its latest refused debit, kept apart (below).

-- The latest refused card debit of an installment still in its schedule: the position's
-- "Refusée" with the bank's answer, and an immediate reminder.
CREATE TABLE card_refusals (
    installment_id INTEGER PRIMARY KEY REFERENCES installments (id),
    response_code  TEXT NOT NULL,
    date           TEXT NOT NULL,
    transaction_id INTEGER NOT NULL REFERENCES card_transactions (id)
);

-- Saved column mappings for gateway exports whose headers Régie does not recognise.
CREATE TABLE card_profiles (
    name    TEXT PRIMARY KEY,
    mapping TEXT NOT NULL -- JSON
);

-- A bank line that credits a card remittance ("REMISE CB 81234 DU 11/10/25"): it confirms
-- transactions already recorded from the gateway's export and never pays a student itself.
ALTER TABLE statement_lines ADD COLUMN remittance TEXT;
CREATE INDEX statement_lines_remittance ON statement_lines (remittance);
