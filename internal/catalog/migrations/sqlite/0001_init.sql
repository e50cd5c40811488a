-- Assets: one row per ingested file. seq orders newest-first listing and
-- serves as the paging cursor; id is the public identifier.
CREATE TABLE assets (
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT    NOT NULL UNIQUE,
    filename         TEXT    NOT NULL,
    size             INTEGER NOT NULL,
    md5              TEXT    NOT NULL,
    sha256           TEXT    NOT NULL,
    blob_key         TEXT    NOT NULL,
    content_type     TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    format           TEXT    NOT NULL,
    pronom           TEXT    NOT NULL DEFAULT '',
    state            TEXT    NOT NULL,
    error            TEXT,
    project          TEXT    NOT NULL,
    width            INTEGER,
    height           INTEGER,
    duration_seconds REAL,
    page_count       INTEGER,
    txid             TEXT    NOT NULL,
    created_at       INTEGER NOT NULL, -- unix microseconds, UTC
    updated_at       INTEGER NOT NULL,
    deleted_at       INTEGER
);
CREATE INDEX assets_sha256 ON assets (sha256);
CREATE INDEX assets_project ON assets (project, seq);
CREATE INDEX assets_state ON assets (state, seq);
CREATE INDEX assets_kind ON assets (kind, seq);

-- API tokens: only the SHA-256 of the secret is kept.
CREATE TABLE tokens (
    id           TEXT    PRIMARY KEY,
    name         TEXT    NOT NULL,
    secret_hash  TEXT    NOT NULL UNIQUE,
    scopes       TEXT    NOT NULL, -- comma-separated: read,write,admin
    project      TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER
);

-- The history of each asset.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    asset_id   TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    txid       TEXT    NOT NULL,
    detail     TEXT    NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL
);
CREATE INDEX events_asset ON events (asset_id, seq);

-- Idempotency-Key: a retried POST finds the asset its first try made.
CREATE TABLE idempotency_keys (
    token_id   TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    asset_id   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (token_id, key)
);

-- Small durable switches (processing paused, ...).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
