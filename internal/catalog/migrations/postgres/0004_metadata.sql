ALTER TABLE assets ADD COLUMN title        TEXT;
ALTER TABLE assets ADD COLUMN description  TEXT;
ALTER TABLE assets ADD COLUMN creator      TEXT;
ALTER TABLE assets ADD COLUMN rights       TEXT;
ALTER TABLE assets ADD COLUMN keywords     TEXT;    -- JSON array of strings
ALTER TABLE assets ADD COLUMN capture_date TEXT;
ALTER TABLE assets ADD COLUMN camera_make  TEXT;
ALTER TABLE assets ADD COLUMN camera_model TEXT;
ALTER TABLE assets ADD COLUMN lens         TEXT;
ALTER TABLE assets ADD COLUMN gps_lat      DOUBLE PRECISION;
ALTER TABLE assets ADD COLUMN gps_lon      DOUBLE PRECISION;
ALTER TABLE assets ADD COLUMN orientation  BIGINT;
ALTER TABLE assets ADD COLUMN pronom_signature TEXT;
ALTER TABLE assets ADD COLUMN pronom_detail    TEXT;
ALTER TABLE assets ADD COLUMN warnings TEXT;
CREATE INDEX assets_capture_date ON assets (capture_date);

CREATE TABLE asset_metadata (
    asset_id     TEXT    PRIMARY KEY,
    groups       TEXT    NOT NULL,
    normalized   TEXT    NOT NULL,
    warnings     TEXT    NOT NULL DEFAULT '[]',
    error        TEXT    NOT NULL DEFAULT '',
    extracted_at BIGINT  NOT NULL
);

CREATE TABLE asset_text (
    asset_id TEXT    NOT NULL,
    page     BIGINT  NOT NULL,
    source   TEXT    NOT NULL,
    text     TEXT    NOT NULL,
    PRIMARY KEY (asset_id, page)
);
