-- The September exemption commission: sessions and the outcomes recorded by finance managers.

CREATE TABLE commission_sessions (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    date TEXT NOT NULL
);

-- One outcome applied to one invoice. A changed outcome reverses the active one (`reversed_at`)
-- and records a new one; nothing is deleted.
CREATE TABLE exemption_outcomes (
    id                  INTEGER PRIMARY KEY,
    session_id          INTEGER NOT NULL REFERENCES commission_sessions (id),
    student_id          INTEGER NOT NULL REFERENCES students (id),
    invoice_id          INTEGER NOT NULL REFERENCES invoices (id),
    outcome             TEXT NOT NULL CHECK (outcome IN ('full', 'partial', 'refused')),
    exempted_cents      INTEGER NOT NULL CHECK (exempted_cents >= 0),
    reference           TEXT NOT NULL,
    decided_by          TEXT NOT NULL,
    decided_at          TEXT NOT NULL,
    credit_note_id      INTEGER REFERENCES credit_notes (id),
    refund_id           INTEGER REFERENCES refunds (id),
    cancelled           TEXT NOT NULL DEFAULT '[]', -- JSON: ids of the installments it cancelled
    added_installment   INTEGER REFERENCES installments (id),
    reversed_at         TEXT,
    reversal_invoice_id INTEGER REFERENCES invoices (id)
);
CREATE INDEX exemption_outcomes_student ON exemption_outcomes (student_id);
