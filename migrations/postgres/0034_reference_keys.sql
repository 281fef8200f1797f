-- A charge-back or a refund row finds the debit it undoes by its order reference through a number
-- computed from it (`regie_rules::card::export::reference_key`) instead of the text, as on SQLite
-- (where placing the texts in their index cost a 100,000-row import 70–140 ms, the numbers 30–50):
-- one schema for both engines. A lookup compares the text too.
ALTER TABLE card_transactions ADD COLUMN ref_key BIGINT NOT NULL DEFAULT 0;
-- The transactions recorded before take 0 until 0035 numbers them; a new one must be given its number.
ALTER TABLE card_transactions ALTER COLUMN ref_key DROP DEFAULT;
DROP INDEX IF EXISTS card_transactions_ref;
CREATE INDEX card_transactions_ref_key ON card_transactions (ref_key);
