-- Each statement line's label as a search compares it (`regie_rules::page::fold`: accents dropped,
-- lower case), so that "lefevre" finds "VIR DE LEFÈVRE" as the other lists find names. The store
-- writes it with each line, and for the lines already there on the first opening after this
-- migration (NULL: not folded yet, found at once by the partial index).
ALTER TABLE statement_lines ADD COLUMN search_label TEXT;
CREATE INDEX IF NOT EXISTS statement_lines_unfolded ON statement_lines (id) WHERE search_label IS NULL;
