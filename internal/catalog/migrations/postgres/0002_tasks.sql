CREATE TABLE tasks (
    id           TEXT    PRIMARY KEY,
    asset_id     TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    required     BIGINT  NOT NULL, -- 0/1, as on SQLite
    attempts     BIGINT  NOT NULL DEFAULT 0,
    max_attempts BIGINT  NOT NULL,
    last_error   TEXT,
    progress     BIGINT,
    txid         TEXT    NOT NULL,
    queued_at    BIGINT  NOT NULL,
    started_at   BIGINT,
    finished_at  BIGINT,
    updated_at   BIGINT  NOT NULL,
    UNIQUE (asset_id, name)
);
CREATE INDEX tasks_state ON tasks (state, name);

CREATE TABLE derivatives (
    asset_id     TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    blob_key     TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    width        BIGINT,
    height       BIGINT,
    size         BIGINT  NOT NULL,
    task         TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (asset_id, name)
);
