-- Processes working this database (stor serve, stor worker): each one
-- beats every few seconds; a worker requeues the tasks a process that
-- stopped beating left running (it died: SIGKILL, OOM, power).
CREATE TABLE nodes (
    id         TEXT    PRIMARY KEY, -- also its River client id (river_job.attempted_by)
    role       TEXT    NOT NULL,    -- serve | worker
    host       TEXT    NOT NULL,
    pid        INTEGER NOT NULL,
    started_at INTEGER NOT NULL,    -- unix microseconds
    seen_at    INTEGER NOT NULL     -- unix microseconds, the last beat
);
