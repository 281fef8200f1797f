-- Each student's search key (`regie_rules::page::search_key`: the number and the names, folded):
-- a search reads one column instead of folding the names of every row. The store fills it when a
-- student is added, and for the students already there right after this migration.
ALTER TABLE students ADD COLUMN search_key TEXT NOT NULL DEFAULT '';
-- The commission's candidates are the approved requests in 05 (differentiated fees), by year.
CREATE INDEX IF NOT EXISTS requests_situation ON requests (situation, status, academic_year);
-- The exemption report's months: installments by due date, payments by date, within a year.
CREATE INDEX IF NOT EXISTS installments_due ON installments (due_date);
CREATE INDEX IF NOT EXISTS payments_date ON payments (date);
