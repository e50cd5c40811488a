-- Direct browser-to-S3 multipart uploads (/api/v1/uploads/s3). stor picks
-- the object key (never the client); the row ties the S3 upload id to it
-- and to whoever started it. state: open, completed (asset_id set),
-- aborted (by the client or by the sweeper of abandoned uploads).
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
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX s3_uploads_state ON s3_uploads (state, created_at);
