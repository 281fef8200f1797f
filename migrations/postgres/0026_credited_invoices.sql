-- Whether an invoice's credit notes add up to its total, kept by the ledger as it writes a credit
-- note (store::ledger::insert_credit_note): Factures' credited invoices are read from the index of
-- the few credited ones instead of adding up every credit note of every year to find them (the
-- scale sets: 1,944 credit notes on ten years, none of them a whole invoice's).
ALTER TABLE invoices ADD COLUMN credited BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE invoices SET credited = TRUE
WHERE (SELECT SUM(c.amount_cents) FROM credit_notes c WHERE c.invoice_id = invoices.id)
      >= COALESCE((SELECT SUM(l.excl_vat_cents + l.vat_cents) FROM invoice_lines l WHERE l.invoice_id = invoices.id), 0);
CREATE INDEX IF NOT EXISTS invoices_credited ON invoices (series, seq) WHERE credited;
