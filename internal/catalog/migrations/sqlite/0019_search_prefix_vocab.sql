-- Long prefixes at a million assets (issue 6).
--
-- A prefix longer than asset_fts's prefix indexes (2, 3, 4 characters,
-- migration 0018) is rewritten by catalog.expandPrefixes into the OR of
-- the terms it starts, which FTS5 streams in rowid order (newest first
-- stops at the page) instead of merging every such term's doclist in
-- full. This table lists the index's terms, one row per instance, in
-- term order: a range on term seeks in the index. It stores nothing (a
-- view of asset_fts's index): creating it is instant at any size.
CREATE VIRTUAL TABLE asset_fts_vocab USING fts5vocab (asset_fts, instance);
