-- A payment reverses another one rarely (a bank match undone, a card debit charged back): the
-- index holds those alone instead of one NULL entry per payment (87,000 entries fewer for a
-- gateway export of 100,000 rows). `reverses = $1` implies the condition, so every lookup of a
-- payment's reversal still uses it. (SQLite's migration of the same number also restates CHECKs
-- that cost SQLite, not PostgreSQL.)
DROP INDEX payments_reverses;
CREATE INDEX payments_reverses ON payments (reverses) WHERE reverses IS NOT NULL;
