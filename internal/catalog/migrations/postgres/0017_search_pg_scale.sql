-- Search at a million assets on PostgreSQL (issue 6).
--
-- asset_search (0009) has a row per asset for its fields and one per page
-- of text, so "every term matches somewhere in the asset" is a join per
-- term, and a frequent term's rows must all be read before the first
-- page. asset_doc is the same words, one row per asset (its asset_search
-- rows concatenated in page order), GIN-indexed: a whole query is one
-- tsquery (the index intersects the terms' posting lists), a capped count
-- of its matches is cheap, and an asset can be checked with one lookup by
-- seq while walking the assets newest first. asset_search stays for exact
-- ranking (per row weights) of queries with few matches.
--
-- Kept in sync by a trigger on asset_search (which the 0009 triggers keep
-- in sync with assets, tags, custom fields and text). No foreign key: an
-- asset's deletion cascades to its asset_search rows, whose trigger then
-- removes the asset_doc row.

CREATE AGGREGATE stor_tsvector_agg (tsvector) (SFUNC = tsvector_concat, STYPE = tsvector, INITCOND = '');

CREATE TABLE asset_doc (
    seq BIGINT   PRIMARY KEY,
    doc tsvector NOT NULL
);

INSERT INTO asset_doc (seq, doc)
SELECT asset_seq, stor_tsvector_agg(doc ORDER BY page) FROM asset_search GROUP BY asset_seq;

CREATE INDEX asset_doc_doc ON asset_doc USING GIN (doc);

CREATE FUNCTION stor_doc_sync() RETURNS trigger LANGUAGE plpgsql AS $$
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
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER asset_search_doc AFTER INSERT OR UPDATE OR DELETE ON asset_search
    FOR EACH ROW EXECUTE FUNCTION stor_doc_sync();


-- Capture-date ranges with a camera: an index-only scan reads the range,
-- filters by camera and state in the index, and sorts the seqs of the
-- matches (0012's index lacks seq, so every asset of the range was read
-- from the table: 25,000 random reads for half a year of a million).
CREATE INDEX assets_capture_seq ON assets (capture_date) INCLUDE (camera_make, camera_model, state, seq);
