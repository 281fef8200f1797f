-- A charge-back or a refund row finds the debit it undoes by its order reference through a number
-- computed from it (`regie_rules::card::export::reference_key`) instead of the text: an export
-- comes in date order, in no order of reference, and SQLite spent 70–140 ms of a 100,000-row
-- import placing the texts in their index, 30–50 ms the numbers. A lookup compares the text too.
ALTER TABLE card_transactions ADD COLUMN ref_key INTEGER NOT NULL DEFAULT 0;
DROP INDEX IF EXISTS card_transactions_ref;
CREATE INDEX card_transactions_ref_key ON card_transactions (ref_key);
