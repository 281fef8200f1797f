-- Régie's ledger. Money is stored as INTEGER cents (exact, portable to PostgreSQL BIGINT);
-- dates as ISO-8601 TEXT. Account positions are computed from these rows, never stored.

CREATE TABLE school_settings (
    school              TEXT PRIMARY KEY CHECK (school IN ('ISIMA', 'POLYTECH')),
    name                TEXT NOT NULL,
    six_threshold_cents INTEGER NOT NULL CHECK (six_threshold_cents >= 0),
    rounding            TEXT NOT NULL CHECK (rounding IN ('exact', 'portal')),
    debit_day           INTEGER NOT NULL CHECK (debit_day BETWEEN 1 AND 28),
    deadline_month      INTEGER NOT NULL CHECK (deadline_month BETWEEN 1 AND 12),
    deadline_day        INTEGER NOT NULL CHECK (deadline_day BETWEEN 1 AND 31),
    work_study_year     INTEGER NOT NULL,
    address             TEXT NOT NULL,
    iban                TEXT NOT NULL,
    bic                 TEXT NOT NULL
);

CREATE TABLE programmes (
    school     TEXT NOT NULL REFERENCES school_settings (school),
    code       TEXT NOT NULL,
    label      TEXT NOT NULL,
    situations TEXT NOT NULL, -- comma-separated allowed situation codes
    PRIMARY KEY (school, code)
);

CREATE TABLE fee_grid (
    academic_year TEXT NOT NULL,
    school        TEXT NOT NULL REFERENCES school_settings (school),
    programme     TEXT NOT NULL,
    situation     TEXT NOT NULL,
    amount_cents  INTEGER NOT NULL CHECK (amount_cents >= 0),
    PRIMARY KEY (academic_year, school, programme, situation)
);

CREATE TABLE students (
    id         INTEGER PRIMARY KEY,
    number     TEXT NOT NULL UNIQUE,
    last_name  TEXT NOT NULL,
    first_name TEXT NOT NULL,
    email      TEXT NOT NULL,
    school     TEXT NOT NULL REFERENCES school_settings (school),
    created_at TEXT NOT NULL
);

-- An installment-plan (or one-off) request as it arrives from the portal.
CREATE TABLE requests (
    id              INTEGER PRIMARY KEY,
    student_id      INTEGER NOT NULL REFERENCES students (id),
    academic_year   TEXT NOT NULL,
    school          TEXT NOT NULL,
    programme       TEXT NOT NULL,
    session         TEXT NOT NULL,
    year_of_study   INTEGER NOT NULL CHECK (year_of_study BETWEEN 1 AND 5),
    situation       TEXT NOT NULL,
    plan            TEXT NOT NULL CHECK (plan IN ('one', 'three', 'six', 'transfer')),
    amount_cents    INTEGER NOT NULL CHECK (amount_cents >= 0),
    amount_source   TEXT NOT NULL CHECK (amount_source IN ('grid', 'file')),
    requested_on    TEXT NOT NULL,
    extra_eu        INTEGER,
    certificate     INTEGER,
    first_year_here INTEGER,
    contract_signed INTEGER,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'hold', 'approved', 'rejected')),
    reason          TEXT,
    decided_by      TEXT,
    decided_at      TEXT,
    UNIQUE (student_id, session, plan, requested_on)
);
CREATE INDEX requests_status ON requests (status);

-- Gapless number series: the next number is taken inside the transaction that issues the document.
CREATE TABLE number_series (
    series TEXT PRIMARY KEY,
    next   INTEGER NOT NULL CHECK (next >= 1)
);

CREATE TABLE orders (
    id              INTEGER PRIMARY KEY,
    number          TEXT NOT NULL UNIQUE,
    student_id      INTEGER NOT NULL REFERENCES students (id),
    request_id      INTEGER UNIQUE REFERENCES requests (id),
    date            TEXT NOT NULL,
    blocked         INTEGER NOT NULL DEFAULT 0,
    excl_vat_cents  INTEGER NOT NULL,
    vat_cents       INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE invoices (
    id         INTEGER PRIMARY KEY,
    series     TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    number     TEXT NOT NULL UNIQUE,
    order_id   INTEGER NOT NULL REFERENCES orders (id),
    student_id INTEGER NOT NULL REFERENCES students (id),
    date       TEXT NOT NULL,
    label      TEXT NOT NULL,
    session    TEXT NOT NULL,
    UNIQUE (series, seq)
);

CREATE TABLE invoice_lines (
    id             INTEGER PRIMARY KEY,
    invoice_id     INTEGER NOT NULL REFERENCES invoices (id),
    designation    TEXT NOT NULL,
    quantity       INTEGER NOT NULL CHECK (quantity > 0),
    discount_bp    INTEGER NOT NULL DEFAULT 0, -- basis points (1/100 %)
    vat_bp         INTEGER NOT NULL DEFAULT 0,
    excl_vat_cents INTEGER NOT NULL,
    vat_cents      INTEGER NOT NULL DEFAULT 0 -- computed once, when the invoice is issued
);

CREATE TABLE installments (
    id           INTEGER PRIMARY KEY,
    invoice_id   INTEGER NOT NULL REFERENCES invoices (id),
    n            INTEGER NOT NULL,
    due_date     TEXT NOT NULL,
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    status       TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    UNIQUE (invoice_id, n)
);

CREATE TABLE payments (
    id           INTEGER PRIMARY KEY,
    student_id   INTEGER NOT NULL REFERENCES students (id),
    date         TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    method       TEXT NOT NULL CHECK (method IN ('card', 'debit', 'transfer', 'other')),
    reference    TEXT NOT NULL,
    reverses     INTEGER REFERENCES payments (id)
);

CREATE TABLE allocations (
    id             INTEGER PRIMARY KEY,
    payment_id     INTEGER NOT NULL REFERENCES payments (id),
    installment_id INTEGER NOT NULL REFERENCES installments (id),
    amount_cents   INTEGER NOT NULL
);

CREATE TABLE credit_notes (
    id           INTEGER PRIMARY KEY,
    series       TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    number       TEXT NOT NULL UNIQUE,
    invoice_id   INTEGER NOT NULL REFERENCES invoices (id),
    date         TEXT NOT NULL,
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    reason       TEXT NOT NULL,
    UNIQUE (series, seq)
);

CREATE TABLE refunds (
    id             INTEGER PRIMARY KEY,
    student_id     INTEGER NOT NULL REFERENCES students (id),
    credit_note_id INTEGER REFERENCES credit_notes (id),
    date           TEXT NOT NULL,
    amount_cents   INTEGER NOT NULL CHECK (amount_cents > 0),
    status         TEXT NOT NULL CHECK (status IN ('to_pay', 'paid', 'cancelled')),
    iban           TEXT
);

-- Append-only: who did what, when and why. Triggers refuse any change to a written line.
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    reason    TEXT,
    details   TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- Foreign keys are looked up from the student's side (positions) and from the installment's
-- (what is left to pay): index them.
CREATE INDEX orders_student ON orders (student_id);
CREATE INDEX invoices_student ON invoices (student_id);
CREATE INDEX invoices_order ON invoices (order_id);
CREATE INDEX payments_student ON payments (student_id);
CREATE INDEX allocations_installment ON allocations (installment_id);
CREATE INDEX allocations_payment ON allocations (payment_id);
CREATE INDEX credit_notes_invoice ON credit_notes (invoice_id);
CREATE INDEX refunds_student ON refunds (student_id);
CREATE INDEX requests_student ON requests (student_id);
