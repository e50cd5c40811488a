-- The PostgreSQL twin of this migration adds an index for camera filters
-- (PostgresSearch resolves a camera to its (make, model) pairs first);
-- SQLite's search keeps the plain condition: nothing to do here.
SELECT 1;
