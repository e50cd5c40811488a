-- Search and organisation (issue 6): tags, edited fields, per-project
-- field schemas, collections, and the full-text index.

-- Tags on assets (free text, kept as given; matched case-insensitively).
CREATE TABLE asset_tags (
    asset_id TEXT NOT NULL,
    tag      TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (asset_id, tag)
);
CREATE INDEX asset_tags_tag ON asset_tags (tag, asset_id);

-- Values a person set (PATCH): field is title, description, creator,
-- rights, keywords, or "custom:NAME"; value is JSON. Edited descriptive
-- values are also written to the assets columns, and the metadata task
-- keeps them there (edited values win over extracted ones).
CREATE TABLE asset_edits (
    asset_id   TEXT    NOT NULL,
    field      TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    edited_at  INTEGER NOT NULL,
    PRIMARY KEY (asset_id, field)
);

-- Per-project schema of custom fields: type string, number, date,
-- boolean or enum (choices a JSON array of strings).
CREATE TABLE project_fields (
    project  TEXT    NOT NULL,
    name     TEXT    NOT NULL,
    type     TEXT    NOT NULL,
    choices  TEXT    NOT NULL DEFAULT '[]',
    position INTEGER NOT NULL,
    PRIMARY KEY (project, name)
);

-- Collections (asset groups), nestable; an asset may sit in several.
CREATE TABLE collections (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    project    TEXT    NOT NULL DEFAULT '',
    parent_id  TEXT    REFERENCES collections (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX collections_parent ON collections (parent_id);
CREATE TABLE collection_members (
    collection_id TEXT    NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    asset_id      TEXT    NOT NULL,
    position      INTEGER NOT NULL,
    PRIMARY KEY (collection_id, asset_id)
);
CREATE INDEX collection_members_asset ON collection_members (asset_id);

-- The full-text index. One row per asset for its fields (rowid seq<<20)
-- and one per page of extracted text (rowid seq<<20 | page), so a page
-- write re-indexes only that page. Kept in sync by the triggers below, on
-- every write path (ingest, metadata task, text task, edits, tags).
CREATE VIRTUAL TABLE asset_fts USING fts5 (
    filename, title, description, creator, keywords, tags, other, body,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
-- ORDER BY rank uses the column weights of catalog.ftsRank.
INSERT INTO asset_fts (asset_fts, rank) VALUES ('rank', 'bm25(6.0, 10.0, 4.0, 4.0, 6.0, 6.0, 2.0, 1.0)');

CREATE TRIGGER assets_fts_insert AFTER INSERT ON assets BEGIN
    INSERT INTO asset_fts (rowid, filename, title, description, creator, keywords, tags, other, body)
    VALUES (new.seq << 20, new.filename, new.title, new.description, new.creator,
        (SELECT group_concat(value, ' ') FROM json_each(COALESCE(new.keywords, '[]'))),
        NULL,
        concat_ws(' ', new.rights, new.camera_make, new.camera_model, new.lens),
        NULL);
END;

CREATE TRIGGER assets_fts_update AFTER UPDATE OF filename, title, description, creator, rights, keywords,
    camera_make, camera_model, lens ON assets BEGIN
    DELETE FROM asset_fts WHERE rowid = old.seq << 20;
    INSERT INTO asset_fts (rowid, filename, title, description, creator, keywords, tags, other, body)
    VALUES (new.seq << 20, new.filename, new.title, new.description, new.creator,
        (SELECT group_concat(value, ' ') FROM json_each(COALESCE(new.keywords, '[]'))),
        (SELECT group_concat(tag, ' ') FROM asset_tags WHERE asset_id = new.id),
        concat_ws(' ', new.rights, new.camera_make, new.camera_model, new.lens,
            (SELECT group_concat(value, ' ') FROM asset_edits WHERE asset_id = new.id AND field LIKE 'custom:%')),
        NULL);
END;

CREATE TRIGGER assets_fts_delete AFTER DELETE ON assets BEGIN
    DELETE FROM asset_fts WHERE rowid BETWEEN old.seq << 20 AND (old.seq << 20) | 1048575;
END;

-- Tags and custom fields re-index the asset's field row: touching
-- filename (to itself) fires assets_fts_update.
CREATE TRIGGER asset_tags_fts_insert AFTER INSERT ON asset_tags BEGIN
    UPDATE assets SET filename = filename WHERE id = new.asset_id;
END;
CREATE TRIGGER asset_tags_fts_delete AFTER DELETE ON asset_tags BEGIN
    UPDATE assets SET filename = filename WHERE id = old.asset_id;
END;
CREATE TRIGGER asset_edits_fts_insert AFTER INSERT ON asset_edits WHEN new.field LIKE 'custom:%' BEGIN
    UPDATE assets SET filename = filename WHERE id = new.asset_id;
END;
CREATE TRIGGER asset_edits_fts_update AFTER UPDATE ON asset_edits WHEN new.field LIKE 'custom:%' BEGIN
    UPDATE assets SET filename = filename WHERE id = new.asset_id;
END;
CREATE TRIGGER asset_edits_fts_delete AFTER DELETE ON asset_edits WHEN old.field LIKE 'custom:%' BEGIN
    UPDATE assets SET filename = filename WHERE id = old.asset_id;
END;

CREATE TRIGGER asset_text_fts_insert AFTER INSERT ON asset_text BEGIN
    INSERT INTO asset_fts (rowid, body)
    SELECT (seq << 20) | (new.page & 1048575), new.text FROM assets WHERE id = new.asset_id
        AND new.page BETWEEN 1 AND 1048575;
END;
CREATE TRIGGER asset_text_fts_delete AFTER DELETE ON asset_text BEGIN
    DELETE FROM asset_fts WHERE rowid = (SELECT (seq << 20) | (old.page & 1048575) FROM assets WHERE id = old.asset_id);
END;
CREATE TRIGGER asset_text_fts_update AFTER UPDATE ON asset_text BEGIN
    DELETE FROM asset_fts WHERE rowid = (SELECT (seq << 20) | (old.page & 1048575) FROM assets WHERE id = old.asset_id);
    INSERT INTO asset_fts (rowid, body)
    SELECT (seq << 20) | (new.page & 1048575), new.text FROM assets WHERE id = new.asset_id
        AND new.page BETWEEN 1 AND 1048575;
END;

-- What is already catalogued.
INSERT INTO asset_fts (rowid, filename, title, description, creator, keywords, tags, other, body)
SELECT seq << 20, filename, title, description, creator,
    (SELECT group_concat(value, ' ') FROM json_each(COALESCE(keywords, '[]'))), NULL,
    concat_ws(' ', rights, camera_make, camera_model, lens), NULL
FROM assets;
INSERT INTO asset_fts (rowid, body)
SELECT (a.seq << 20) | t.page, t.text FROM asset_text t JOIN assets a ON a.id = t.asset_id
WHERE t.page BETWEEN 1 AND 1048575;
