-- The number of each transaction recorded before 0034, as `reference_key` computes it: the
-- reference's code points folded as k = (k × 131 + c) mod (2³¹ − 1). Run again, it changes
-- nothing (the tests run it again after clearing the numbers, and compare with Rust's).
WITH RECURSIVE folded (id, reference, i, k) AS (
    SELECT id, order_ref, 1, 0 FROM card_transactions
    UNION ALL
    SELECT id, reference, i + 1, (k * 131 + unicode(substr(reference, i, 1))) % 2147483647
    FROM folded WHERE i <= length(reference)
)
UPDATE card_transactions SET ref_key = folded.k
FROM folded
WHERE folded.id = card_transactions.id AND folded.i = length(folded.reference) + 1;
