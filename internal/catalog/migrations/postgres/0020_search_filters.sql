-- A capture-date range with a camera at a million assets (issue 6).
--
-- The camera filter (a make in any case, or a part of the model) is no
-- index condition: half a year of a million assets was 25,000 entries of
-- assets_capture_seq tested one by one, or 14,000 rows walked newest
-- first. PostgresSearch resolves the filter to the (make, model) pairs it
-- matches first, skipping through this index one probe per distinct pair,
-- then reads only their entries in the range, index only.
CREATE INDEX assets_camera_capture ON assets ((coalesce(camera_make, '')), (coalesce(camera_model, '')), capture_date)
    INCLUDE (camera_make, camera_model, state, seq);

-- Ranked search's approximate tier 1 (every term in the title, filename,
-- keywords or tags: weights A and B) with a kind or project filter.
-- asset_doc's GIN index cannot restrict to weights (each match is read
-- and rechecked) nor filter: a word in 30,000 assets with a filter that
-- keeps 7% of them read all 30,000 rows to list 50. asset_tier is, per
-- asset, only the A and B words of asset_doc plus two lexemes
-- 'kind:<kind>' and 'project:<project>' (no word has a colon: stor_words
-- splits at punctuation), so the GIN index intersects the terms with the
-- filter and reads only the matches, and the planner has statistics of
-- the A/B words of their own. Kept in sync with asset_doc (its trigger)
-- and with assets' kind and project.
CREATE FUNCTION stor_tier_doc(doc tsvector, kind text, project text) RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ts_filter(doc, '{a,b}') || array_to_tsvector(ARRAY['kind:' || kind, 'project:' || project])
$$;

CREATE TABLE asset_tier (
    seq BIGINT   PRIMARY KEY,
    doc tsvector NOT NULL
);

INSERT INTO asset_tier (seq, doc)
SELECT d.seq, stor_tier_doc(d.doc, a.kind, a.project) FROM asset_doc d JOIN assets a ON a.seq = d.seq;

CREATE INDEX asset_tier_doc ON asset_tier USING GIN (doc);
ANALYZE asset_tier;

CREATE OR REPLACE FUNCTION stor_doc_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        s := OLD.asset_seq;
    ELSE
        s := NEW.asset_seq;
    END IF;
    INSERT INTO asset_doc (seq, doc)
    SELECT s, stor_tsvector_agg(doc ORDER BY page) FROM asset_search WHERE asset_seq = s HAVING count(*) > 0
    ON CONFLICT (seq) DO UPDATE SET doc = excluded.doc;
    IF NOT FOUND THEN
        DELETE FROM asset_doc WHERE seq = s;
        DELETE FROM asset_tier WHERE seq = s;
    ELSE
        INSERT INTO asset_tier (seq, doc)
        SELECT s, stor_tier_doc(d.doc, a.kind, a.project) FROM asset_doc d JOIN assets a ON a.seq = d.seq WHERE d.seq = s
        ON CONFLICT (seq) DO UPDATE SET doc = excluded.doc;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION stor_tier_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE asset_tier t SET doc = stor_tier_doc(d.doc, NEW.kind, NEW.project)
    FROM asset_doc d WHERE t.seq = NEW.seq AND d.seq = NEW.seq;
    RETURN NULL;
END $$;
CREATE TRIGGER assets_tier_update AFTER UPDATE OF kind, project ON assets
    FOR EACH ROW WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.project IS DISTINCT FROM NEW.project)
    EXECUTE FUNCTION stor_tier_sync();
