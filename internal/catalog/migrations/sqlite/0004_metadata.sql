-- Metadata, identification and text (issue 5).

-- The normalised descriptive fields on the asset, for display and search
-- (reconciled from EXIF, IPTC, XMP and container metadata by the metadata
-- task; precedence in internal/exiftool's package doc).
ALTER TABLE assets ADD COLUMN title        TEXT;
ALTER TABLE assets ADD COLUMN description  TEXT;
ALTER TABLE assets ADD COLUMN creator      TEXT;
ALTER TABLE assets ADD COLUMN rights       TEXT;
ALTER TABLE assets ADD COLUMN keywords     TEXT;    -- JSON array of strings
-- RFC 3339 local date-time as written, with its offset when known
-- ("2021-06-15T14:30:00+02:00"), without one when the zone is unknown
-- ("2021-06-15T14:30:00": a wall-clock reading, not an instant).
ALTER TABLE assets ADD COLUMN capture_date TEXT;
ALTER TABLE assets ADD COLUMN camera_make  TEXT;
ALTER TABLE assets ADD COLUMN camera_model TEXT;
ALTER TABLE assets ADD COLUMN lens         TEXT;
ALTER TABLE assets ADD COLUMN gps_lat      REAL;    -- signed decimal degrees
ALTER TABLE assets ADD COLUMN gps_lon      REAL;
ALTER TABLE assets ADD COLUMN orientation  INTEGER; -- EXIF 1..8
-- PRONOM identification beyond the PUID (assets.pronom): the signature
-- file it came from and siegfried's full answer (JSON).
ALTER TABLE assets ADD COLUMN pronom_signature TEXT;
ALTER TABLE assets ADD COLUMN pronom_detail    TEXT;
-- Warnings about the file, by the task that found them: a JSON object
-- {"identify": ["..."], "metadata": ["..."], "text": ["..."]}; each task
-- replaces only its own entry, so re-running one is idempotent.
ALTER TABLE assets ADD COLUMN warnings TEXT;
CREATE INDEX assets_capture_date ON assets (capture_date);

-- The full metadata dump of each asset: every tag exiftool read, grouped
-- by family-0 group, each {"raw": ..., "display": "..."} (JSON).
CREATE TABLE asset_metadata (
    asset_id     TEXT    PRIMARY KEY,
    groups       TEXT    NOT NULL,
    normalized   TEXT    NOT NULL,
    warnings     TEXT    NOT NULL DEFAULT '[]', -- JSON array of strings
    error        TEXT    NOT NULL DEFAULT '',   -- exiftool's error about the file
    extracted_at INTEGER NOT NULL
);

-- Text per page: from a PDF's text layer, or from OCR (images, and PDF
-- pages without a text layer). Images have one page.
CREATE TABLE asset_text (
    asset_id TEXT    NOT NULL,
    page     INTEGER NOT NULL,  -- from 1
    source   TEXT    NOT NULL,  -- 'text-layer' or 'ocr'
    text     TEXT    NOT NULL,
    PRIMARY KEY (asset_id, page)
);
