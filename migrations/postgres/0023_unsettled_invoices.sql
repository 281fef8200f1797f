-- The partial index of unsettled installments also holds each one's invoice: the open (and the
-- settled) invoices are found from it alone instead of from every unsettled installment's row
-- (32,000 on the ten-year scale set: their invoices in 25 ms -> 4). Same rows, one more column:
-- a settlement costs what it did.
DROP INDEX installments_unsettled;
CREATE INDEX installments_unsettled ON installments (due_date, invoice_id)
    WHERE status <> 'cancelled' AND settled_cents < amount_cents;
