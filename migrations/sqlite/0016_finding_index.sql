-- The codes of each request's findings (",six_at_or_below_threshold,ends_after_deadline,"), kept so
-- that the requests list filtered by a finding is found, counted and cut by the database instead
-- of computing the rules over every request of every year. NULL: not computed yet (a new or
-- re-planned request, a database older than this); the stamp names the fee grid, settings and
-- rules they were computed with, and a different one means every request is computed again.
-- The rules stay the truth: the list shows the findings computed for its window.
ALTER TABLE requests ADD COLUMN finding_codes TEXT;
CREATE INDEX IF NOT EXISTS requests_unindexed ON requests (id) WHERE finding_codes IS NULL;
CREATE TABLE IF NOT EXISTS finding_index (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    stamp TEXT NOT NULL
);
