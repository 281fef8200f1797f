-- The format a statement was read from: a movement imported from the bank's spreadsheet and
-- later from its CAMT.053 or CFONB 120 file of the same period carries another label, so lines
-- of another format are recognised by day and amount instead of by fingerprint.
ALTER TABLE statements ADD COLUMN format TEXT NOT NULL DEFAULT 'sheet';
