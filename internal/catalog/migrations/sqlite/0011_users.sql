-- Users (argon2id passwords, a role, optionally one project), their web
-- sessions, per-user tokens, per-project download rates and the audit log.
CREATE TABLE users (
    id            TEXT    PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL, -- PHC string: $argon2id$v=19$m=...,t=...,p=...$salt$hash
    role          TEXT    NOT NULL, -- admin, editor, viewer
    project       TEXT    NOT NULL DEFAULT '', -- empty: every project
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    disabled_at   INTEGER
);

-- Web sessions: the cookie holds a secret; only its SHA-256 is kept.
CREATE TABLE sessions (
    id           TEXT    PRIMARY KEY,
    secret_hash  TEXT    NOT NULL UNIQUE,
    user_id      TEXT    NOT NULL REFERENCES users (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    revoked_at   INTEGER,
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id, created_at);

-- A token may belong to a user: disabling the user stops it.
ALTER TABLE tokens ADD COLUMN user_id TEXT NOT NULL DEFAULT '';

-- Bytes per second of one download of the project's media (0: no limit).
ALTER TABLE projects ADD COLUMN download_rate INTEGER NOT NULL DEFAULT 0;

-- Audit log: admin actions, sign-ins and downloads of private originals.
-- Append-only: the triggers refuse any UPDATE or DELETE.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL DEFAULT '',
    ip         TEXT    NOT NULL DEFAULT '',
    request_id TEXT    NOT NULL DEFAULT '',
    detail     TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
