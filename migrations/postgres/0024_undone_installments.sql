-- A charge-back or a refund that undid a card payment concerns the installment that payment's
-- debit paid: what is due again. Imports before this one gave it the installment still open when
-- it came (the next one: a charge-back of "F2026-00036-2" showed installment 3), and a refund out
-- of the account's credit, or a row placed nowhere, an open installment it did not concern.
UPDATE card_transactions SET installment_id = (
    SELECT d.installment_id FROM card_transactions d
    WHERE d.payment_id = card_transactions.payment_id AND d.kind = 'debit'
    ORDER BY d.id LIMIT 1)
WHERE kind IN ('chargeback', 'refund') AND payment_id IS NOT NULL;

UPDATE card_transactions SET installment_id = NULL
WHERE kind IN ('chargeback', 'refund') AND payment_id IS NULL;
