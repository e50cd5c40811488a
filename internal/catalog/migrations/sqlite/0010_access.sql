-- Access: projects that may be public, per-asset visibility overrides.
CREATE TABLE projects (
    name             TEXT    PRIMARY KEY,
    public           INTEGER NOT NULL DEFAULT 0,
    public_originals INTEGER NOT NULL DEFAULT 0,
    updated_at       INTEGER NOT NULL
);
-- project: follow the project; public or private: this asset only.
ALTER TABLE assets ADD COLUMN visibility TEXT NOT NULL DEFAULT 'project';

-- Webhooks: subscriptions and every delivery (the log).
CREATE TABLE webhooks (
    id         TEXT    PRIMARY KEY,
    url        TEXT    NOT NULL,
    events     TEXT    NOT NULL, -- comma-separated
    secret     TEXT    NOT NULL, -- kept as is: it signs every delivery
    created_at INTEGER NOT NULL,
    deleted_at INTEGER
);
CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id  TEXT    NOT NULL,
    event_id    TEXT    NOT NULL,
    event       TEXT    NOT NULL,
    asset_id    TEXT    NOT NULL DEFAULT '',
    payload     TEXT    NOT NULL,
    state       TEXT    NOT NULL, -- pending, delivered, failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_status INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_hook ON webhook_deliveries (webhook_id, id);
