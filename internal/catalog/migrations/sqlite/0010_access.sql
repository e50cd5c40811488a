-- Access: projects that may be public, per-asset visibility overrides.
CREATE TABLE projects (
    name             TEXT    PRIMARY KEY,
    public           INTEGER NOT NULL DEFAULT 0,
    public_originals INTEGER NOT NULL DEFAULT 0,
    updated_at       INTEGER NOT NULL
);
-- project: follow the project; public or private: this asset only.
ALTER TABLE assets ADD COLUMN visibility TEXT NOT NULL DEFAULT 'project';
