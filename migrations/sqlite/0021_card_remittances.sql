-- Each card remittance as its captured debits make it up, kept by the gateway export's import.
-- A transaction is never changed in what counts here (number, kind, status, amount, dates) once
-- recorded, and is recorded once: adding each import's new rows keeps these sums exact. Cartes'
-- remittances and a statement import's remittance matching read this instead of summing every
-- captured debit ever imported (1,195 remittances on the ten-year scale set).
-- One row per remittance day: small enough to be sorted whole.
CREATE TABLE card_remittances (
    number          TEXT PRIMARY KEY,
    -- The latest remittance date the gateway gave, if any; else the latest transaction's date.
    remittance_date TEXT,
    last_date       TEXT NOT NULL,
    gross_cents     INTEGER NOT NULL,
    count           INTEGER NOT NULL
);

INSERT INTO card_remittances (number, remittance_date, last_date, gross_cents, count)
SELECT remittance, MAX(remittance_date), MAX(date), SUM(amount_cents), COUNT(*)
FROM card_transactions
WHERE remittance IS NOT NULL AND kind = 'debit' AND status = 'captured'
GROUP BY remittance;
