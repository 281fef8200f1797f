-- The statement lines' folded labels indexed by their trigrams (FTS5, external content: the text
-- stays in statement_lines): a search for a rare name went through the lines in their order until
-- it had a page of them, 124,000 lines on five years and 178,000 on ten for "dupont".
-- The index is kept up to `upto` (store::bank::index_line_text, on opening and after an import
-- that leaves many lines out of it); the lines after the mark are read one by one by a search,
-- so the index speeds searches and never decides what they find.
CREATE VIRTUAL TABLE IF NOT EXISTS statement_line_text
    USING fts5(search_label, content = 'statement_lines', content_rowid = 'id', tokenize = 'trigram', detail = 'none');
CREATE TABLE IF NOT EXISTS statement_line_text_upto (upto INTEGER NOT NULL);
INSERT INTO statement_line_text_upto (upto) VALUES (0);
