-- Fixity: every check of every copy of an object, kept as evidence.
CREATE TABLE fixity_checks (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    asset_id    TEXT    NOT NULL,
    object      TEXT    NOT NULL, -- "original" or "derivative:NAME"
    blob_key    TEXT    NOT NULL,
    copy        TEXT    NOT NULL, -- the store: "primary" or a replica's name
    algorithm   TEXT    NOT NULL, -- sha256
    expected    TEXT    NOT NULL,
    actual      TEXT    NOT NULL DEFAULT '',
    outcome     TEXT    NOT NULL, -- ok, failed, missing
    bytes       INTEGER NOT NULL,
    duration_us INTEGER NOT NULL,
    error       TEXT,
    txid        TEXT    NOT NULL,
    checked_at  INTEGER NOT NULL
);
CREATE INDEX fixity_checks_asset ON fixity_checks (asset_id, seq);
CREATE INDEX fixity_checks_outcome ON fixity_checks (outcome, seq);

-- The fixity state of each asset: ok or failed (no row: unchecked).
CREATE TABLE fixity_status (
    asset_id   TEXT    PRIMARY KEY,
    status     TEXT    NOT NULL,
    checked_at INTEGER NOT NULL,
    failed_at  INTEGER,
    reason     TEXT
);
CREATE INDEX fixity_status_checked ON fixity_status (checked_at);

-- Derivatives carry no checksum from their task; the first audit records
-- one (trusted on first use), later audits compare against it.
CREATE TABLE fixity_baselines (
    blob_key    TEXT    PRIMARY KEY,
    sha256      TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL
);

-- Purge: when a deleted asset's bytes were removed (the row stays).
ALTER TABLE assets ADD COLUMN purged_at INTEGER;
