-- A charge-back or a refund finds the debit it undoes by its reference's number (`ref_key`)
-- through this table instead of an index on the transactions, as on SQLite (where an import
-- writes its rows in the numbers' order, one pass through the B-tree, instead of putting each
-- number of an export at a random place of the index): one schema for both engines. Every
-- transaction has its row, with the number it carries.
CREATE TABLE card_reference_keys (
    ref_key        BIGINT NOT NULL,
    transaction_id BIGINT NOT NULL REFERENCES card_transactions (id),
    PRIMARY KEY (ref_key, transaction_id)
);
INSERT INTO card_reference_keys (ref_key, transaction_id)
SELECT ref_key, id FROM card_transactions ORDER BY ref_key, id;
DROP INDEX card_transactions_ref_key;
