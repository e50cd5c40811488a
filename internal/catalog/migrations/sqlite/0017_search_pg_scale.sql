-- Search at a million assets on PostgreSQL (issue 6): the PostgreSQL
-- 0017 adds a one-row-per-asset tsvector table. SQLite's FTS5 table of
-- 0012 is already one row per asset: nothing to do here.
SELECT 1;
