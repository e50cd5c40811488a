-- Tasks: the state of each processing step of each asset, for the API.
-- The job queue (River) holds the jobs; this table is what users see.
CREATE TABLE tasks (
    id           TEXT    PRIMARY KEY,
    asset_id     TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    state        TEXT    NOT NULL, -- queued, running, retrying, succeeded, failed, skipped
    required     INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    last_error   TEXT,
    progress     INTEGER,
    txid         TEXT    NOT NULL,
    queued_at    INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    updated_at   INTEGER NOT NULL,
    UNIQUE (asset_id, name)
);
CREATE INDEX tasks_state ON tasks (state, name);

-- Derivatives: files made from an original, at deterministic keys.
CREATE TABLE derivatives (
    asset_id     TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    blob_key     TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    width        INTEGER,
    height       INTEGER,
    size         INTEGER NOT NULL,
    task         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (asset_id, name)
);
