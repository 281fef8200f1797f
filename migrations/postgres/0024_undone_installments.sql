-- A charge-back or a refund that undid a card payment concerns the installment that payment's
-- debit paid: what is due again. Imports before this one gave it the installment still open when
-- it came (the next one: a charge-back of "F2026-00036-2" showed installment 3), and a refund out
-- of the account's credit, or a row placed nowhere, an open installment it did not concern.
-- One join, not a lookup per row: payments are not indexed among the transactions (the ten-year
-- scale set's 7,525 charge-backs: 0.1 s).
UPDATE card_transactions SET installment_id = d.installment_id
FROM card_transactions d
WHERE card_transactions.kind IN ('chargeback', 'refund') AND card_transactions.payment_id IS NOT NULL
  AND d.payment_id = card_transactions.payment_id AND d.kind = 'debit';

UPDATE card_transactions SET installment_id = NULL
WHERE kind IN ('chargeback', 'refund') AND payment_id IS NULL;
