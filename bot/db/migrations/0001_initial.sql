-- 0001: the tables of DESIGN.md "Data model".
-- Times: *_at REAL columns are UTC epoch seconds (time.time()); played_at / started_at / ended_at TEXT
-- are the game server's local time from the file name, 'YYYY-MM-DD HH:MM:SS' (sortable, no zone).

CREATE TABLE schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at REAL NOT NULL
);

-- Gaming sessions: rounds of one server separated by less than a configured gap.
CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    server      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    ended_at    TEXT NOT NULL,
    round_count INTEGER NOT NULL DEFAULT 0,
    last_import_at REAL NOT NULL,       -- UTC epoch of the last round import: idle sessions get closed
    closed      INTEGER NOT NULL DEFAULT 0 CHECK (closed IN (0, 1))  -- 1 once the summary was queued
);
CREATE INDEX sessions_server_started ON sessions(server, started_at);
CREATE INDEX sessions_open ON sessions(closed, last_import_at);

CREATE TABLE rounds (
    -- AUTOINCREMENT: ids are never reused, so player/weapon rows orphaned by a hand-run DELETE
    -- (the sqlite3 shell has foreign keys off) cannot collide with a new round's rows.
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    server            TEXT NOT NULL,
    filename          TEXT NOT NULL,
    sha256            TEXT NOT NULL,
    map               TEXT NOT NULL,
    round_number      INTEGER NOT NULL CHECK (round_number IN (1, 2)),
    played_at         TEXT NOT NULL,
    server_name       TEXT NOT NULL,
    config            TEXT NOT NULL,
    defender          INTEGER NOT NULL,
    winner            INTEGER NOT NULL,
    time_limit_raw    TEXT NOT NULL,
    next_time_limit_raw TEXT NOT NULL,
    time_limit_s      INTEGER,
    next_time_limit_s INTEGER,
    duration_ms       INTEGER,          -- header field 8 when present
    duration_s        INTEGER,          -- best estimate of the real round length (§5.1, §11)
    extras_fields     INTEGER,          -- 33/36/37/38; NULL for a header-only file
    player_count      INTEGER NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('r1', 'paired', 'pending_r1', 'orphan')),
    flags             TEXT NOT NULL DEFAULT '',   -- comma-separated anomaly flags, sorted
    pairable          INTEGER NOT NULL DEFAULT 1 CHECK (pairable IN (0, 1)),  -- RoundRef.pairable (§12 B11)
    paired_round_id   INTEGER REFERENCES rounds(id) ON DELETE SET NULL,
    session_id        INTEGER REFERENCES sessions(id) ON DELETE SET NULL,
    raw_content       BLOB NOT NULL,    -- zlib-compressed file bytes: re-derivation and reprocess need no local copy
    imported_at       REAL NOT NULL,
    UNIQUE (server, filename)
);
-- One round per content: the same bytes under another name (or server) are a duplicate, never a 2nd round.
CREATE UNIQUE INDEX rounds_sha256 ON rounds(sha256);
-- Chronological order is (played_at, filename); pairing looks up the round 1 before/after a time and the
-- pending round 2s of a server: each an index seek, so an import costs the same with 100 or 100,000 rounds.
-- The last two are partial (only round 1s; only pending round 2s, a handful): cheaper to keep up on every
-- insert, and the queries name `round_number = 1` / `status = 'pending_r1'` literally so they apply.
CREATE INDEX rounds_server_played ON rounds(server, played_at, filename);
CREATE INDEX rounds_server_r1 ON rounds(server, played_at, filename) WHERE round_number = 1;
CREATE INDEX rounds_pending_r2 ON rounds(server, played_at, filename) WHERE status = 'pending_r1';
CREATE INDEX rounds_session ON rounds(session_id);

-- R1+R2 pairs and their stopwatch outcome.
CREATE TABLE matches (
    id          INTEGER PRIMARY KEY,
    server      TEXT NOT NULL,
    map         TEXT NOT NULL,
    r1_round_id INTEGER NOT NULL UNIQUE REFERENCES rounds(id) ON DELETE CASCADE,
    r2_round_id INTEGER NOT NULL UNIQUE REFERENCES rounds(id) ON DELETE CASCADE,
    outcome     TEXT NOT NULL,          -- 'r1_attackers' | 'r2_attackers' | 'draw'
    winner_team INTEGER,                -- side (1 Axis, 2 Allies) of the winning team in round 2's sides; NULL draw
    r1_time_s   INTEGER,
    r2_time_s   INTEGER,
    session_id  INTEGER REFERENCES sessions(id) ON DELETE SET NULL,
    created_at  REAL NOT NULL
);

-- Per-round player values (round-2-only for a paired round 2). Extras columns are NULL when the
-- file's generation does not have them (§8.1).
CREATE TABLE player_stats (
    round_id      INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,
    player_key    TEXT NOT NULL,        -- guid, or 'OMNIBOT0:<clean name>' for bots
    guid          TEXT NOT NULL,
    name          TEXT NOT NULL,
    clean_name    TEXT NOT NULL,
    team          INTEGER NOT NULL,
    rounds        INTEGER NOT NULL,
    kills         INTEGER NOT NULL,
    deaths        INTEGER NOT NULL,
    shots         INTEGER NOT NULL,
    hits          INTEGER NOT NULL,
    headshot_hits INTEGER NOT NULL,
    damage_given INTEGER, damage_received INTEGER, team_damage_given INTEGER, team_damage_received INTEGER,
    gibs INTEGER, self_kills INTEGER, team_kills INTEGER, team_gibs INTEGER, time_played_pct REAL,
    xp INTEGER, killing_spree INTEGER, death_spree INTEGER, kill_assists INTEGER, kill_steals INTEGER,
    headshot_kills INTEGER, objectives_stolen INTEGER, objectives_returned INTEGER,
    dynamites_planted INTEGER, dynamites_defused INTEGER, times_revived INTEGER, bullets_fired INTEGER,
    dpm REAL, time_played_min REAL, tank_meatshield REAL, time_dead_ratio REAL, time_dead_min REAL,
    kd_ratio REAL, useful_kills INTEGER, denied_playtime INTEGER, multikill_2 INTEGER, multikill_3 INTEGER,
    multikill_4 INTEGER, multikill_5 INTEGER, multikill_6 INTEGER, useless_kills INTEGER,
    full_selfkills INTEGER, repairs_constructions INTEGER, revives_given INTEGER,
    flags         TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (round_id, player_key)
) WITHOUT ROWID;
CREATE INDEX player_stats_guid ON player_stats(guid);

CREATE TABLE weapon_stats (
    round_id   INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,
    player_key TEXT NOT NULL,
    guid       TEXT NOT NULL,
    weapon     TEXT NOT NULL,
    hits       INTEGER NOT NULL,
    shots      INTEGER NOT NULL,
    kills      INTEGER NOT NULL,
    deaths     INTEGER NOT NULL,
    headshots  INTEGER NOT NULL,
    PRIMARY KEY (round_id, player_key, weapon)
) WITHOUT ROWID;

-- The registry: one row per (server, file name) ever listed. See DESIGN.md "File states".
CREATE TABLE processed_files (
    server          TEXT NOT NULL,
    filename        TEXT NOT NULL,
    size            INTEGER,
    mtime           INTEGER,
    sha256          TEXT,
    state           TEXT NOT NULL CHECK (state IN
                      ('seen', 'downloaded', 'imported', 'failed', 'quarantined', 'duplicate', 'ignored')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at REAL,
    first_seen_at   REAL NOT NULL,
    updated_at      REAL NOT NULL,
    round_id        INTEGER REFERENCES rounds(id) ON DELETE SET NULL,
    PRIMARY KEY (server, filename)
) WITHOUT ROWID;
CREATE INDEX processed_files_state ON processed_files(state);

-- History of each file's journey (`statsbot explain FILE`).
CREATE TABLE file_events (
    id       INTEGER PRIMARY KEY,
    server   TEXT NOT NULL,
    filename TEXT NOT NULL,
    at       REAL NOT NULL,
    event    TEXT NOT NULL,             -- seen, settled, downloaded, imported, failed, quarantined, ...
    detail   TEXT NOT NULL DEFAULT '{}' -- JSON object
);
CREATE INDEX file_events_file ON file_events(server, filename, id);

-- Posts to make, written in the same transaction as the data they describe; drained after commit.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,      -- round, match, session, alert, alert_resolved, ...
    channel         TEXT NOT NULL CHECK (channel IN ('stats', 'admin')),
    dedupe_key      TEXT NOT NULL UNIQUE, -- e.g. 'round:main:<file>'; a second enqueue is a no-op
    payload         TEXT NOT NULL,      -- JSON: what to render (ids and values, not a rendered embed)
    nonce           TEXT NOT NULL UNIQUE, -- <= 25 chars, sent with enforce_nonce
    state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    last_error      TEXT,
    message_id      TEXT,
    created_at      REAL NOT NULL,
    sent_at         REAL
);
CREATE INDEX outbox_pending ON outbox(state, next_attempt_at, id);

-- Per-server poll health (status command, health check, alerts).
CREATE TABLE server_status (
    server               TEXT PRIMARY KEY,
    last_poll_at         REAL,
    last_success_at      REAL,
    last_error           TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_listing_count   INTEGER,
    last_poll_seconds    REAL
);

-- Open problems: an alert is posted once when opened and once when resolved, never per poll.
CREATE TABLE alerts (
    key         TEXT PRIMARY KEY,       -- e.g. 'server_unreachable:main', 'quarantined:main:<file>'
    severity    TEXT NOT NULL,
    message     TEXT NOT NULL,
    opened_at   REAL NOT NULL,
    resolved_at REAL
);
