CREATE TABLE remote_fetches (
    asset_id       TEXT    PRIMARY KEY,
    url            TEXT    NOT NULL,
    token_id       TEXT    NOT NULL DEFAULT '',
    actor          TEXT    NOT NULL DEFAULT '',
    ignore_unsupported BIGINT NOT NULL DEFAULT 0,
    received_bytes BIGINT  NOT NULL DEFAULT 0,
    total_bytes    BIGINT,
    started_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    finished_at    BIGINT
);
CREATE INDEX remote_fetches_unfinished ON remote_fetches (finished_at);
