-- Teams own API keys and sandboxes; a key is stored only as the SHA-256 of its full text.
CREATE TABLE teams (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    team_id      TEXT NOT NULL REFERENCES teams (id),
    key_hash     TEXT NOT NULL UNIQUE,
    mask         TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    revoked_at   INTEGER
);

-- One row per sandbox ever created. Rows of ended sandboxes stay (state killed/expired/lost) so that their logs and
-- the reason they ended remain visible.
CREATE TABLE sandboxes (
    id                TEXT PRIMARY KEY,
    team_id           TEXT NOT NULL REFERENCES teams (id),
    template_id       TEXT NOT NULL,
    state             TEXT NOT NULL,
    cpu_count         INTEGER NOT NULL,
    memory_mb         INTEGER NOT NULL,
    disk_size_mb      INTEGER NOT NULL,
    access_token      TEXT NOT NULL,
    metadata          TEXT NOT NULL,
    allow_internet    INTEGER,
    auto_pause        INTEGER NOT NULL DEFAULT 0,
    started_at        INTEGER NOT NULL,
    end_at            INTEGER NOT NULL,
    ended_at          INTEGER
);
CREATE INDEX sandboxes_team_state ON sandboxes (team_id, state, started_at);

-- Lifecycle lines (created, expired, lost on restart, ...) served by GET /sandboxes/{id}/logs.
CREATE TABLE sandbox_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    sandbox_id TEXT NOT NULL,
    at         INTEGER NOT NULL,
    level      TEXT NOT NULL,
    message    TEXT NOT NULL
);
CREATE INDEX sandbox_events_sandbox ON sandbox_events (sandbox_id, at);
