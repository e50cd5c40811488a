-- SQLite's 0019 adds an fts5vocab table to its FTS5 index for prefix
-- search; PostgreSQL has no FTS5 and needs nothing.
SELECT 1;
