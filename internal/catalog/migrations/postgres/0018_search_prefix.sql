-- Prefix search at a million assets (issue 6): the SQLite 0018 rebuilds
-- its FTS5 table with a prefix index. PostgreSQL's tsvector GIN indexes
-- answer prefixes (:*) already: nothing to do here.
SELECT 1;
