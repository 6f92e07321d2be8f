-- 0006: what a session's rounds say about its two stopwatch teams (bot.stats.teams), stored so that
-- posts and commands read it instead of recomputing it. `sessions.derived` is 0 whenever a round joins,
-- leaves or changes pairing; the session post, `statsbot reprocess` and readers derive it again then.

ALTER TABLE sessions ADD COLUMN derived INTEGER NOT NULL DEFAULT 0 CHECK (derived IN (0, 1));

CREATE TABLE session_teams (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    team       INTEGER NOT NULL CHECK (team IN (1, 2)),
    name       TEXT NOT NULL,           -- the shared clan tag, else "Team <best-known player>"
    maps_won   INTEGER NOT NULL,
    PRIMARY KEY (session_id, team)
) WITHOUT ROWID;

CREATE TABLE session_rosters (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    player_key TEXT NOT NULL,
    team       INTEGER NOT NULL CHECK (team IN (1, 2)),
    name       TEXT NOT NULL,           -- clean name, latest seen in the session
    rounds     INTEGER NOT NULL,        -- rounds played (a map's pair counts once per group played in)
    seconds    REAL NOT NULL,           -- time played for this team
    PRIMARY KEY (session_id, player_key)
) WITHOUT ROWID;

-- One row per map played: a stopwatch pair, a lone round 1 or a round 2 without its round 1.
CREATE TABLE session_maps (
    session_id     INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,    -- play order, from 1
    map            TEXT NOT NULL,
    r1_round_id    INTEGER REFERENCES rounds(id) ON DELETE SET NULL,
    r2_round_id    INTEGER REFERENCES rounds(id) ON DELETE SET NULL,
    result         TEXT NOT NULL CHECK (result IN ('win', 'draw', 'no_result')),
    attacked_first INTEGER,             -- team number (1/2)
    winner         INTEGER,             -- team number; NULL for a draw or no result
    r1_time_s      INTEGER,             -- the time the first attackers set (the limit when held)
    r2_time_s      INTEGER,
    fullhold_r1    INTEGER NOT NULL DEFAULT 0,
    fullhold_r2    INTEGER NOT NULL DEFAULT 0,
    note           TEXT NOT NULL DEFAULT '',
    lineups        TEXT NOT NULL DEFAULT '{}',  -- JSON {"1": [player_key, ...], "2": [...]}
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
