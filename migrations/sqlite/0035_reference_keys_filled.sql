-- The number of each transaction recorded before 0034, as `reference_key` computes it: the
-- reference's code points folded as k = (k × 131 + c) mod (2³¹ − 1), one transaction at a time
-- (a few rows of memory, however many years are recorded). Run again, it changes nothing (the
-- tests run it again after clearing the numbers, and compare with Rust's).
UPDATE card_transactions SET ref_key = (
    WITH RECURSIVE folded (i, k) AS (
        SELECT 1, 0
        UNION ALL
        SELECT i + 1, (k * 131 + unicode(substr(card_transactions.order_ref, i, 1))) % 2147483647
        FROM folded WHERE i <= length(card_transactions.order_ref)
    )
    SELECT k FROM folded WHERE i = length(card_transactions.order_ref) + 1
);
