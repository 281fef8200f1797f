-- The CHECKs of the tables imports fill, restated without `IN (...)` lists. SQLite evaluates a
-- CHECK's `x IN ('a', 'b', 'c')` by building a small table of the list again for every row it
-- checks (`EXPLAIN`: OpenEphemeral, then Found), where a chain of `=` joined by OR costs next to
-- nothing: 100,000 card transactions copied by SQL alone took
-- 0.41-0.48 s with the lists and 0.24-0.26 s without. The gateway export's import (100,000
-- rows, three interleaved runs of each build): the transactions' insertion 538-705 ms instead of
-- 753-1,217, the payments' 161-193 ms instead of 203-282, the import 1.53-1.83 s instead of
-- 2.05-2.30 (medians). The rule is the same: the rows already stored satisfy it, and every value
-- it refused is still refused.
--
-- SQLite cannot alter a CHECK, and rebuilding these tables would copy ten years of payments. This
-- is the procedure SQLite documents for changing a table's constraints in place (ALTER TABLE,
-- "making other kinds of table schema changes"): the table's text in the schema is edited, in the
-- migration's transaction; the index rebuilt below changes the schema's version, so that every
-- other connection reads the new text again (the migration runs on a connection of its own,
-- closed afterwards: `store::upgrade`).
PRAGMA writable_schema = ON;

UPDATE sqlite_schema SET sql = replace(replace(replace(sql,
    'kind IN (''debit'', ''refund'', ''chargeback'')',
    'kind = ''debit'' OR kind = ''refund'' OR kind = ''chargeback'''),
    'status IN (''captured'', ''refused'', ''cancelled'')',
    'status = ''captured'' OR status = ''refused'' OR status = ''cancelled'''),
    'outcome IN (''paid'', ''refused'', ''refunded'', ''charged_back'', ''cancelled'', ''unknown'')',
    'outcome = ''paid'' OR outcome = ''refused'' OR outcome = ''refunded'' OR outcome = ''charged_back'' OR outcome = ''cancelled'' OR outcome = ''unknown''')
WHERE type = 'table' AND name = 'card_transactions';

UPDATE sqlite_schema SET sql = replace(replace(sql,
    'method IN (''card'', ''debit'', ''transfer'', ''other'')',
    'method = ''card'' OR method = ''debit'' OR method = ''transfer'' OR method = ''other'''),
    'reversal IN (''unpaid'', ''correction'')',
    'reversal = ''unpaid'' OR reversal = ''correction''')
WHERE type = 'table' AND name = 'payments';

UPDATE sqlite_schema SET sql = replace(sql,
    'status IN (''matched'', ''to_review'', ''unmatched'', ''debit'')',
    'status = ''matched'' OR status = ''to_review'' OR status = ''unmatched'' OR status = ''debit''')
WHERE type = 'table' AND name = 'statement_lines';

UPDATE sqlite_schema SET sql = replace(sql,
    'status IN (''scheduled'', ''cancelled'')',
    'status = ''scheduled'' OR status = ''cancelled''')
WHERE type = 'table' AND name = 'installments';

UPDATE sqlite_schema SET sql = replace(replace(replace(sql,
    'plan IN (''one'', ''three'', ''six'', ''transfer'')',
    'plan = ''one'' OR plan = ''three'' OR plan = ''six'' OR plan = ''transfer'''),
    'amount_source IN (''grid'', ''file'')',
    'amount_source = ''grid'' OR amount_source = ''file'''),
    'status IN (''pending'', ''hold'', ''approved'', ''rejected'')',
    'status = ''pending'' OR status = ''hold'' OR status = ''approved'' OR status = ''rejected''')
WHERE type = 'table' AND name = 'requests';

PRAGMA writable_schema = OFF;

-- A payment reverses another one rarely (a bank match undone, a card debit charged back): the
-- index holds those alone instead of one NULL entry per payment (87,000 entries fewer for the
-- gateway export; 0.1-0.2 s of the payments' insertion). `reverses = ?` implies the condition,
-- so every lookup of a payment's reversal still uses it.
DROP INDEX payments_reverses;
CREATE INDEX payments_reverses ON payments (reverses) WHERE reverses IS NOT NULL;
