-- Pause and resume. sandboxes.state may now be 'paused': its processes are frozen, it keeps its memory and disk,
-- and end_at is then the end of its retention (when a paused sandbox is removed), not of its timeout.
-- auto_resume: traffic through the router to the paused sandbox resumes it. timeout_ms: the timeout it was created
-- with, given again when it is resumed by traffic.
ALTER TABLE sandboxes ADD COLUMN auto_resume INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sandboxes ADD COLUMN timeout_ms INTEGER;

-- A snapshot is a template: <dataDir>/templates/<id>/ holds the sandbox's writable layer at snapshot time
-- (layer/) on top of the layers of the template it came from (listed in its layers file); rootfs/ is their
-- read-only overlay, mounted by the server. size_bytes is what layer/ takes, charged to the team. kind 'fork' is
-- the hidden snapshot a fork's children start from, removed once no sandbox runs from it.
CREATE TABLE snapshots (
    id           TEXT PRIMARY KEY,
    team_id      TEXT NOT NULL REFERENCES teams (id),
    sandbox_id   TEXT NOT NULL,
    template_id  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    name         TEXT,
    size_bytes   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX snapshots_team ON snapshots (team_id, created_at);
CREATE UNIQUE INDEX snapshots_team_name ON snapshots (team_id, name);
