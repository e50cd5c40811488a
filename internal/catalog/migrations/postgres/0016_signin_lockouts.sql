-- Failed sign-ins per username (known or not: the table never tells which),
-- shared by every API node of the catalog and kept across restarts. After
-- too many failures in a window the username is locked until locked_until;
-- lockouts counts the locks in a row, for the backoff.
CREATE TABLE signin_lockouts (
    username     TEXT    PRIMARY KEY,
    failures     BIGINT  NOT NULL,           -- failures in the current window
    window_start BIGINT  NOT NULL,           -- unix microseconds
    locked_until BIGINT  NOT NULL DEFAULT 0, -- unix microseconds; 0 or past: not locked
    lockouts     BIGINT  NOT NULL DEFAULT 0, -- locks in a row (the backoff doubles with each)
    updated_at   BIGINT  NOT NULL            -- unix microseconds, the last failure
);
CREATE INDEX signin_lockouts_updated ON signin_lockouts (updated_at);
