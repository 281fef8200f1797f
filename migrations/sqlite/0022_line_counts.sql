-- How many statement lines have each status, kept by the store as it writes them (a statement's
-- import adds its lines' counts, a line's change of status moves one). Banque shows the counts of
-- matched, to review and unmatched lines with every page, and a list of one status counts its
-- lines here: counting them in the index by status read 84,000 entries on the ten-year scale set,
-- twice as many as on five years (a list's first page must not grow with the history).
CREATE TABLE line_counts (
    status TEXT PRIMARY KEY CHECK (status IN ('matched', 'to_review', 'unmatched', 'debit')),
    n      INTEGER NOT NULL CHECK (n >= 0)
);

INSERT INTO line_counts (status, n)
SELECT s.status, (SELECT COUNT(*) FROM statement_lines l WHERE l.status = s.status)
FROM (SELECT 'matched' AS status UNION ALL SELECT 'to_review' UNION ALL SELECT 'unmatched' UNION ALL SELECT 'debit') s;
