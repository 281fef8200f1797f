-- The statement lines' folded labels indexed by their trigrams, where the server has pg_trgm (in
-- Debian's postgresql package; trusted, so a database owner may create it): a search for a rare
-- name went through the lines in their order until it had a page of them. Without the extension
-- the searches stay correct and read the lines.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS pg_trgm;
            CREATE INDEX IF NOT EXISTS statement_lines_text ON statement_lines USING gin (search_label gin_trgm_ops);
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'pg_trgm not created (%): statement searches read the lines', SQLERRM;
        END;
    END IF;
END
$$;
