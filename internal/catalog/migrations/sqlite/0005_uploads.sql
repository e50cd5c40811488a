-- Fetches of POST /api/v1/assets/from-url: the asset row sits in state
-- 'uploading' while stor downloads the URL; this row carries the source
-- and the progress shown on the asset. finished_at is set when the fetch
-- committed or failed; an unfinished row found at start is fetched again.
CREATE TABLE remote_fetches (
    asset_id       TEXT    PRIMARY KEY,
    url            TEXT    NOT NULL,
    token_id       TEXT    NOT NULL DEFAULT '',
    actor          TEXT    NOT NULL DEFAULT '',
    ignore_unsupported INTEGER NOT NULL DEFAULT 0,
    received_bytes INTEGER NOT NULL DEFAULT 0,
    total_bytes    INTEGER,          -- Content-Length when the server sent one
    started_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    finished_at    INTEGER
);
CREATE INDEX remote_fetches_unfinished ON remote_fetches (finished_at);
