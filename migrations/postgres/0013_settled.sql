-- What has been settled on each installment, payments and credit notes together, kept by the
-- ledger as it writes allocations (store::ledger::resettle): Relances reads the installments with
-- something left instead of summing the allocations of every installment of every year.
ALTER TABLE installments ADD COLUMN settled_cents BIGINT NOT NULL DEFAULT 0;
UPDATE installments SET settled_cents =
    COALESCE((SELECT SUM(a.amount_cents) FROM allocations a WHERE a.installment_id = installments.id), 0)
  + COALESCE((SELECT SUM(c.amount_cents) FROM credit_allocations c WHERE c.installment_id = installments.id), 0);
CREATE INDEX IF NOT EXISTS installments_unsettled ON installments (due_date)
    WHERE status <> 'cancelled' AND settled_cents < amount_cents;
