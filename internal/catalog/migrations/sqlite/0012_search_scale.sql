-- Search at a million assets (issue 6).
--
-- 1. One full-text row per asset (rowid = assets.seq) holding its fields
--    and all its pages of text (0009 had a row per page, so every term of
--    a query had to be matched per row and joined per asset). FTS5 now
--    ANDs the terms itself and streams the matches by rowid, newest first,
--    stopping at the page. The text of an asset is re-indexed once per
--    ReplaceText (catalog.reindexSearch), not once per page.
-- 2. Facet counts kept by triggers in the writing transaction:
--    asset_counts (project, kind, format, state) and asset_tag_counts (the
--    same with the tag), so facets of a listing without a query or other
--    filters are a few index reads instead of a scan.
-- 3. An index for capture-date ranges with a camera, covering the filter.

DROP TRIGGER assets_fts_insert;
DROP TRIGGER assets_fts_update;
DROP TRIGGER assets_fts_delete;
DROP TRIGGER asset_text_fts_insert;
DROP TRIGGER asset_text_fts_delete;
DROP TRIGGER asset_text_fts_update;
DROP TABLE asset_fts;

CREATE VIRTUAL TABLE asset_fts USING fts5 (
    filename, title, description, creator, keywords, tags, other, body,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
-- ORDER BY rank uses the column weights of catalog.ftsRank.
INSERT INTO asset_fts (asset_fts, rank) VALUES ('rank', 'bm25(6.0, 10.0, 4.0, 4.0, 6.0, 6.0, 2.0, 1.0)');

-- A new asset has no tags, custom fields or text yet.
CREATE TRIGGER assets_fts_insert AFTER INSERT ON assets BEGIN
    INSERT INTO asset_fts (rowid, filename, title, description, creator, keywords, tags, other, body)
    VALUES (new.seq, new.filename, new.title, new.description, new.creator,
        (SELECT group_concat(value, ' ') FROM json_each(COALESCE(new.keywords, '[]'))),
        NULL,
        concat_ws(' ', new.rights, new.camera_make, new.camera_model, new.lens),
        NULL);
END;

-- Tags and custom fields (0009's triggers) and ReplaceText touch filename
-- to re-index.
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

INSERT INTO asset_fts (rowid, filename, title, description, creator, keywords, tags, other, body)
SELECT seq, filename, title, description, creator,
    (SELECT group_concat(value, ' ') FROM json_each(COALESCE(keywords, '[]'))),
    (SELECT group_concat(tag, ' ') FROM asset_tags WHERE asset_id = assets.id),
    concat_ws(' ', rights, camera_make, camera_model, lens,
        (SELECT group_concat(value, ' ') FROM asset_edits WHERE asset_id = assets.id AND field LIKE 'custom:%')),
    (SELECT group_concat(text, char(10)) FROM (SELECT text FROM asset_text WHERE asset_id = assets.id ORDER BY page))
FROM assets;
INSERT INTO asset_fts (asset_fts) VALUES ('optimize');

-- Facet counts. Rows may reach n = 0 (readers skip them).
CREATE TABLE asset_counts (
    project TEXT    NOT NULL,
    kind    TEXT    NOT NULL,
    format  TEXT    NOT NULL,
    state   TEXT    NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (project, kind, format, state)
) WITHOUT ROWID;
CREATE TABLE asset_tag_counts (
    tag     TEXT    NOT NULL COLLATE NOCASE,
    project TEXT    NOT NULL,
    kind    TEXT    NOT NULL,
    format  TEXT    NOT NULL,
    state   TEXT    NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (tag, project, kind, format, state)
) WITHOUT ROWID;

INSERT INTO asset_counts (project, kind, format, state, n)
SELECT project, kind, format, state, count(*) FROM assets GROUP BY 1, 2, 3, 4;
INSERT INTO asset_tag_counts (tag, project, kind, format, state, n)
SELECT t.tag, a.project, a.kind, a.format, a.state, count(*) FROM asset_tags t JOIN assets a ON a.id = t.asset_id
GROUP BY 1, 2, 3, 4, 5;

CREATE TRIGGER assets_counts_insert AFTER INSERT ON assets BEGIN
    INSERT INTO asset_counts (project, kind, format, state, n) VALUES (new.project, new.kind, new.format, new.state, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER assets_counts_delete AFTER DELETE ON assets BEGIN
    UPDATE asset_counts SET n = n - 1
        WHERE project = old.project AND kind = old.kind AND format = old.format AND state = old.state;
    UPDATE asset_tag_counts SET n = n - 1
        WHERE tag IN (SELECT tag FROM asset_tags WHERE asset_id = old.id)
        AND project = old.project AND kind = old.kind AND format = old.format AND state = old.state;
END;
CREATE TRIGGER assets_counts_update AFTER UPDATE OF project, kind, format, state ON assets
WHEN old.project IS NOT new.project OR old.kind IS NOT new.kind OR old.format IS NOT new.format OR old.state IS NOT new.state
BEGIN
    UPDATE asset_counts SET n = n - 1
        WHERE project = old.project AND kind = old.kind AND format = old.format AND state = old.state;
    INSERT INTO asset_counts (project, kind, format, state, n) VALUES (new.project, new.kind, new.format, new.state, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    UPDATE asset_tag_counts SET n = n - 1
        WHERE tag IN (SELECT tag FROM asset_tags WHERE asset_id = old.id)
        AND project = old.project AND kind = old.kind AND format = old.format AND state = old.state;
    INSERT INTO asset_tag_counts (tag, project, kind, format, state, n)
        SELECT tag, new.project, new.kind, new.format, new.state, 1 FROM asset_tags WHERE asset_id = new.id
        ON CONFLICT DO UPDATE SET n = n + 1;
END;
-- A tag row counts while its asset exists (an asset deleted first took
-- its tags' counts with it).
CREATE TRIGGER asset_tags_counts_insert AFTER INSERT ON asset_tags BEGIN
    INSERT INTO asset_tag_counts (tag, project, kind, format, state, n)
        SELECT new.tag, project, kind, format, state, 1 FROM assets WHERE id = new.asset_id
        ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER asset_tags_counts_delete AFTER DELETE ON asset_tags BEGIN
    UPDATE asset_tag_counts SET n = n - 1
        WHERE tag = old.tag AND (project, kind, format, state) =
            (SELECT project, kind, format, state FROM assets WHERE id = old.asset_id);
END;
CREATE TRIGGER asset_tags_counts_update AFTER UPDATE ON asset_tags BEGIN
    UPDATE asset_tag_counts SET n = n - 1
        WHERE tag = old.tag AND (project, kind, format, state) =
            (SELECT project, kind, format, state FROM assets WHERE id = old.asset_id);
    INSERT INTO asset_tag_counts (tag, project, kind, format, state, n)
        SELECT new.tag, project, kind, format, state, 1 FROM assets WHERE id = new.asset_id
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

-- Capture-date ranges with a camera: the range scan reads the camera from
-- the index, and only matching rows from the table.
CREATE INDEX assets_capture_camera ON assets (capture_date, camera_make, camera_model, state);
