-- A card refund beyond the account's credit gives back the card payment it refunds: that payment
-- settles nothing any more, and the refund is its own. Neither is the account's credit any more:
-- the link keeps the payment's amount from being put on installments again, and the refund from
-- being taken out of other credit.
ALTER TABLE refunds ADD COLUMN gives_back BIGINT REFERENCES payments (id);
CREATE INDEX refunds_gives_back ON refunds (gives_back) WHERE gives_back IS NOT NULL;
