-- Indexes for the foreign keys that lists and positions look rows up by, inside per-row
-- subqueries: without them each invoice of a list scans every invoice line (quadratic).
CREATE INDEX IF NOT EXISTS invoice_lines_invoice ON invoice_lines (invoice_id);
CREATE INDEX IF NOT EXISTS exemption_outcomes_invoice ON exemption_outcomes (invoice_id);
CREATE INDEX IF NOT EXISTS exemption_outcomes_credit_note ON exemption_outcomes (credit_note_id);
CREATE INDEX IF NOT EXISTS exemption_outcomes_refund ON exemption_outcomes (refund_id);
CREATE INDEX IF NOT EXISTS audit_log_entity ON audit_log (entity, entity_id);
CREATE INDEX IF NOT EXISTS session_returns_line ON session_returns (line_id);
-- card_transactions keeps no secondary index (see 0008): imports of 100,000 rows would pay for
-- each; what lists and positions need per installment is in card_refusals.
