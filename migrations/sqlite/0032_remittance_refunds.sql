-- A remittance nets the refunds the gateway sent back to cards with it: the bank credits its
-- debits less those refunds. Its totals, kept by each import since 0021, counted the debits only:
-- they are summed again, refunds less.
DELETE FROM card_remittances;
INSERT INTO card_remittances (number, remittance_date, last_date, gross_cents, count)
SELECT remittance, MAX(remittance_date), MAX(date), SUM(CASE WHEN kind = 'refund' THEN -amount_cents ELSE amount_cents END), COUNT(*)
FROM card_transactions
WHERE remittance IS NOT NULL AND kind IN ('debit', 'refund') AND status = 'captured'
GROUP BY remittance;
