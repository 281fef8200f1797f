-- The report's months add up every installment and payment of the years it covers (all of them
-- when no year is asked): their indexes by date now also carry what is summed, so the sums read
-- those indexes alone, in date order, instead of every row of both tables (ten years of a large
-- office: 0.31 s before). Same lookups by date as the indexes they replace.
DROP INDEX IF EXISTS installments_due;
CREATE INDEX installments_due ON installments (due_date, status, amount_cents);
DROP INDEX IF EXISTS payments_date;
CREATE INDEX payments_date ON payments (date, amount_cents);
