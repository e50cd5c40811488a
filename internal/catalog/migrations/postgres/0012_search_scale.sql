-- Search at a million assets (issue 6), PostgreSQL side. The SQLite
-- 0012 rebuilds its FTS5 index (one row per asset) and adds facet counts
-- tables for SQLiteSearch; PostgresSearch keeps its tsvector + GIN index
-- of 0009 and counts facets itself. Both get the index for capture-date
-- ranges with a camera, covering the filter.
CREATE INDEX assets_capture_camera ON assets (capture_date, camera_make, camera_model, state);
