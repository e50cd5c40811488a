CREATE TABLE av_analysis (
    asset_id   TEXT    PRIMARY KEY,
    analysis   TEXT,
    probe      TEXT,
    loudness   TEXT,
    updated_at BIGINT  NOT NULL
);
ALTER TABLE assets ADD COLUMN playable_at BIGINT;
