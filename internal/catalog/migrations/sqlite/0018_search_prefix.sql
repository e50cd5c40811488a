-- Prefix search at a million assets (issue 6).
--
-- A prefix query (word*) on an FTS5 table without a prefix index merges
-- the doclists of every indexed word that starts with the prefix, all of
-- them in full, before the first match is returned: 3 letters of a
-- frequent word took seconds at 1,000,000 assets. With prefix = '2 3 4'
-- FTS5 also indexes the first 2, 3 and 4 letters of every word, so such
-- a prefix reads one doclist, streamed in rowid order like a word's
-- (newest first stops at the page). Longer prefixes are merged as before
-- (fast unless they start a frequent word); a 1-letter prefix is
-- searched as the word itself (catalog.queryTerms). The index grows by
-- about 75% (docs/benchmarks.md has the sizes at 1,000,000 assets).
--
-- FTS5 cannot add a prefix index to an existing table: the table is
-- rebuilt from the old one's stored columns (no re-reading of tags,
-- custom fields and text) under the same name, with the triggers of 0012
-- re-created unchanged. On a catalogue of 1,000,000 assets this takes
-- minutes at start (docs/benchmarks.md).

DROP TRIGGER assets_fts_insert;
DROP TRIGGER assets_fts_update;
DROP TRIGGER assets_fts_delete;
ALTER TABLE asset_fts RENAME TO asset_fts_0012;

CREATE VIRTUAL TABLE asset_fts USING fts5 (
    filename, title, description, creator, keywords, tags, other, body,
    prefix = '2 3 4',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
-- ORDER BY rank uses the column weights of catalog.ftsRank.
INSERT INTO asset_fts (asset_fts, rank) VALUES ('rank', 'bm25(6.0, 10.0, 4.0, 4.0, 6.0, 6.0, 2.0, 1.0)');

INSERT INTO asset_fts (rowid, filename, title, description, creator, keywords, tags, other, body)
SELECT rowid, filename, title, description, creator, keywords, tags, other, body FROM asset_fts_0012;
DROP TABLE asset_fts_0012;

-- The triggers of 0012, unchanged.
CREATE TRIGGER assets_fts_insert AFTER INSERT ON assets BEGIN
    INSERT INTO asset_fts (rowid, filename, title, description, creator, keywords, tags, other, body)
    VALUES (new.seq, new.filename, new.title, new.description, new.creator,
        (SELECT group_concat(value, ' ') FROM json_each(COALESCE(new.keywords, '[]'))),
        NULL,
        concat_ws(' ', new.rights, new.camera_make, new.camera_model, new.lens),
        NULL);
END;

CREATE TRIGGER assets_fts_update AFTER UPDATE OF filename, title, description, creator, rights, keywords,
    camera_make, camera_model, lens ON assets BEGIN
    DELETE FROM asset_fts WHERE rowid = old.seq;
    INSERT INTO asset_fts (rowid, filename, title, description, creator, keywords, tags, other, body)
    VALUES (new.seq, new.filename, new.title, new.description, new.creator,
        (SELECT group_concat(value, ' ') FROM json_each(COALESCE(new.keywords, '[]'))),
        (SELECT group_concat(tag, ' ') FROM asset_tags WHERE asset_id = new.id),
        concat_ws(' ', new.rights, new.camera_make, new.camera_model, new.lens,
            (SELECT group_concat(value, ' ') FROM asset_edits WHERE asset_id = new.id AND field LIKE 'custom:%')),
        (SELECT group_concat(text, char(10)) FROM (SELECT text FROM asset_text WHERE asset_id = new.id ORDER BY page)));
END;

CREATE TRIGGER assets_fts_delete AFTER DELETE ON assets BEGIN
    DELETE FROM asset_fts WHERE rowid = old.seq;
END;
