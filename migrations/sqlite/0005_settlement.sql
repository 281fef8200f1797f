-- What a credit note settles. Like a payment, a credit note is spread over installments: first
-- the unpaid ones of its own invoice, latest first (what it removes is no longer due), and what is
-- left of it is a credit on the student's account. Rows are never changed.
CREATE TABLE credit_allocations (
    id             INTEGER PRIMARY KEY,
    credit_note_id INTEGER NOT NULL REFERENCES credit_notes (id),
    installment_id INTEGER NOT NULL REFERENCES installments (id),
    amount_cents   INTEGER NOT NULL CHECK (amount_cents > 0)
);
CREATE INDEX credit_allocations_installment ON credit_allocations (installment_id);
CREATE INDEX credit_allocations_note ON credit_allocations (credit_note_id);

-- Installments cancelled before this table existed were cancelled by a credit note on their
-- invoice: record what that note settled, so that what is left to pay is computed one way.
INSERT INTO credit_allocations (credit_note_id, installment_id, amount_cents)
SELECT (SELECT MAX(c.id) FROM credit_notes c WHERE c.invoice_id = t.invoice_id),
       t.id,
       t.amount_cents - COALESCE((SELECT SUM(a.amount_cents) FROM allocations a WHERE a.installment_id = t.id), 0)
FROM installments t
WHERE t.status = 'cancelled'
  AND EXISTS (SELECT 1 FROM credit_notes c WHERE c.invoice_id = t.invoice_id)
  AND t.amount_cents > COALESCE((SELECT SUM(a.amount_cents) FROM allocations a WHERE a.installment_id = t.id), 0);

-- An installment with what was paid on it and what credit notes removed from it: the one
-- definition of what is left to pay (amount - paid - credited), for every reader.
CREATE VIEW installment_balances AS
SELECT t.id, t.invoice_id, t.n, t.due_date, t.amount_cents, t.status,
       COALESCE((SELECT SUM(a.amount_cents) FROM allocations a WHERE a.installment_id = t.id), 0) AS paid_cents,
       COALESCE((SELECT SUM(c.amount_cents) FROM credit_allocations c WHERE c.installment_id = t.id), 0) AS credited_cents
FROM installments t;

-- When a refund was paid.
ALTER TABLE refunds ADD COLUMN paid_on TEXT;
CREATE INDEX refunds_credit_note ON refunds (credit_note_id);
