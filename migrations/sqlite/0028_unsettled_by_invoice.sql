-- The partial index of unsettled installments now leads with their invoice and holds every column
-- read from it. Relances' walk by name looks up each student's invoices' unsettled installments:
-- through the installments' (invoice_id, n) key it read every installment row of every invoice
-- (paid ones too), where this index answers from its entries alone (SQLite chose it once covering:
-- a narrower one was passed over). The reads of every unsettled installment (an import's open
-- installments, the open invoices, the levels' counts) read the same entries, and a settlement
-- still removes one entry.
DROP INDEX installments_unsettled;
CREATE INDEX installments_unsettled ON installments (invoice_id, due_date, n, status, settled_cents, amount_cents)
    WHERE status <> 'cancelled' AND settled_cents < amount_cents;
