-- Search and organisation (issue 6), PostgreSQL twin of sqlite/0009:
-- the same tables; the full-text index is a tsvector table with a GIN
-- index instead of FTS5, kept in sync by triggers on the same write paths.

-- unaccent folds accents (FTS5's remove_diacritics); citext makes tags
-- match in any case (SQLite's COLLATE NOCASE). Both are trusted
-- extensions: a database owner may create them.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS citext;

CREATE TABLE asset_tags (
    asset_id TEXT   NOT NULL,
    tag      CITEXT NOT NULL,
    PRIMARY KEY (asset_id, tag)
);
CREATE INDEX asset_tags_tag ON asset_tags (tag, asset_id);

CREATE TABLE asset_edits (
    asset_id   TEXT    NOT NULL,
    field      TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    edited_at  BIGINT  NOT NULL,
    PRIMARY KEY (asset_id, field)
);

CREATE TABLE project_fields (
    project  TEXT    NOT NULL,
    name     TEXT    NOT NULL,
    type     TEXT    NOT NULL,
    choices  TEXT    NOT NULL DEFAULT '[]',
    position BIGINT  NOT NULL,
    PRIMARY KEY (project, name)
);

CREATE TABLE collections (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    project    TEXT    NOT NULL DEFAULT '',
    parent_id  TEXT    REFERENCES collections (id) ON DELETE SET NULL,
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);
CREATE INDEX collections_parent ON collections (parent_id);
CREATE TABLE collection_members (
    collection_id TEXT    NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    asset_id      TEXT    NOT NULL,
    position      BIGINT  NOT NULL,
    PRIMARY KEY (collection_id, asset_id)
);
CREATE INDEX collection_members_asset ON collection_members (asset_id);

-- Words as FTS5's unicode61 tokenizer sees them: punctuation separates
-- ("IMG_4711_harbour.jpg" is four words), accents and case fold, English
-- stems (porter there, snowball here), and no stop words.
CREATE TEXT SEARCH DICTIONARY stor_english (TEMPLATE = snowball, Language = english);
CREATE TEXT SEARCH CONFIGURATION stor (COPY = simple);
ALTER TEXT SEARCH CONFIGURATION stor
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part
    WITH unaccent, stor_english;
ALTER TEXT SEARCH CONFIGURATION stor
    ALTER MAPPING FOR numword, numhword, hword_numpart, int, uint, float, sfloat, version
    WITH unaccent, simple;

CREATE FUNCTION stor_words(t text) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT to_tsvector('stor'::regconfig, regexp_replace(coalesce(t, ''), '[[:punct:]]+', ' ', 'g'))
$$;

-- One row per asset for its fields (page 0) and one per page of text.
-- Weights (catalog.pgRank): A title; B filename, keywords, tags;
-- C description, creator; D rights, camera, lens, custom fields (page 0)
-- and the text of pages.
CREATE TABLE asset_search (
    asset_seq BIGINT NOT NULL REFERENCES assets (seq) ON DELETE CASCADE,
    page      BIGINT NOT NULL,
    doc       tsvector NOT NULL,
    PRIMARY KEY (asset_seq, page)
);
CREATE INDEX asset_search_doc ON asset_search USING GIN (doc);

CREATE FUNCTION stor_fields_doc(a assets) RETURNS tsvector LANGUAGE sql STABLE AS $$
    SELECT setweight(stor_words(a.title), 'A')
        || setweight(stor_words(a.filename), 'B')
        || setweight(stor_words((SELECT string_agg(value, ' ') FROM json_array_elements_text(coalesce(a.keywords, '[]')::json))), 'B')
        || setweight(stor_words((SELECT string_agg(tag::text, ' ') FROM asset_tags WHERE asset_id = a.id)), 'B')
        || setweight(stor_words(concat_ws(' ', a.description, a.creator)), 'C')
        || setweight(stor_words(concat_ws(' ', a.rights, a.camera_make, a.camera_model, a.lens,
            (SELECT string_agg(value, ' ') FROM asset_edits WHERE asset_id = a.id AND field LIKE 'custom:%'))), 'D')
$$;

CREATE FUNCTION stor_index_fields(aid text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO asset_search (asset_seq, page, doc)
    SELECT a.seq, 0, stor_fields_doc(a) FROM assets a WHERE a.id = aid
    ON CONFLICT (asset_seq, page) DO UPDATE SET doc = excluded.doc
$$;

CREATE FUNCTION stor_assets_fts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO asset_search (asset_seq, page, doc) VALUES (NEW.seq, 0, stor_fields_doc(NEW))
    ON CONFLICT (asset_seq, page) DO UPDATE SET doc = excluded.doc;
    RETURN NULL;
END $$;
CREATE TRIGGER assets_fts_insert AFTER INSERT ON assets
    FOR EACH ROW EXECUTE FUNCTION stor_assets_fts();
CREATE TRIGGER assets_fts_update AFTER UPDATE OF filename, title, description, creator, rights, keywords,
    camera_make, camera_model, lens ON assets
    FOR EACH ROW EXECUTE FUNCTION stor_assets_fts();
-- Deleting an asset row deletes its index rows (ON DELETE CASCADE).

CREATE FUNCTION stor_related_fts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM stor_index_fields(OLD.asset_id);
    ELSE
        PERFORM stor_index_fields(NEW.asset_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER asset_tags_fts AFTER INSERT OR DELETE ON asset_tags
    FOR EACH ROW EXECUTE FUNCTION stor_related_fts();
CREATE TRIGGER asset_edits_fts_insert AFTER INSERT OR UPDATE ON asset_edits
    FOR EACH ROW WHEN (NEW.field LIKE 'custom:%') EXECUTE FUNCTION stor_related_fts();
CREATE TRIGGER asset_edits_fts_delete AFTER DELETE ON asset_edits
    FOR EACH ROW WHEN (OLD.field LIKE 'custom:%') EXECUTE FUNCTION stor_related_fts();

CREATE FUNCTION stor_text_fts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM asset_search s USING assets a
        WHERE a.id = OLD.asset_id AND s.asset_seq = a.seq AND s.page = OLD.page AND OLD.page > 0;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO asset_search (asset_seq, page, doc)
        SELECT a.seq, NEW.page, setweight(stor_words(NEW.text), 'D') FROM assets a
        WHERE a.id = NEW.asset_id AND NEW.page > 0
        ON CONFLICT (asset_seq, page) DO UPDATE SET doc = excluded.doc;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER asset_text_fts AFTER INSERT OR UPDATE OR DELETE ON asset_text
    FOR EACH ROW EXECUTE FUNCTION stor_text_fts();

-- What is already catalogued.
INSERT INTO asset_search (asset_seq, page, doc) SELECT a.seq, 0, stor_fields_doc(a) FROM assets a;
INSERT INTO asset_search (asset_seq, page, doc)
SELECT a.seq, t.page, setweight(stor_words(t.text), 'D') FROM asset_text t JOIN assets a ON a.id = t.asset_id
WHERE t.page > 0;
