-- Direct browser-to-S3 multipart uploads: see the SQLite migration.
CREATE TABLE s3_uploads (
    upload_id    TEXT    PRIMARY KEY,
    object_key   TEXT    NOT NULL,
    filename     TEXT    NOT NULL DEFAULT '',
    content_type TEXT    NOT NULL DEFAULT '',
    project      TEXT    NOT NULL DEFAULT '',
    token_id     TEXT    NOT NULL DEFAULT '',
    actor        TEXT    NOT NULL DEFAULT '',
    state        TEXT    NOT NULL DEFAULT 'open',
    asset_id     TEXT,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);
CREATE INDEX s3_uploads_state ON s3_uploads (state, created_at);
