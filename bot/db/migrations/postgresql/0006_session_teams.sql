-- PostgreSQL twin of ../0006_session_teams.sql (same number, name and end state; see bot/db/pg_migrations.py).
-- 0006: what a session's rounds say about its two stopwatch teams (bot.stats.teams), stored so that
-- posts and commands read it instead of recomputing it. `sessions.derived` is 0 whenever a round joins,
-- leaves or changes pairing; the session post, `statsbot reprocess` and readers derive it again then.

ALTER TABLE sessions ADD COLUMN derived BIGINT NOT NULL DEFAULT 0 CHECK (derived IN (0, 1));

CREATE TABLE session_teams (
    session_id BIGINT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    team       BIGINT NOT NULL CHECK (team IN (1, 2)),
    name       TEXT COLLATE "C" NOT NULL,           -- the shared clan tag, else "Team <best-known player>"
    maps_won   BIGINT NOT NULL,
    PRIMARY KEY (session_id, team)
);

CREATE TABLE session_rosters (
    session_id BIGINT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    player_key TEXT COLLATE "C" NOT NULL,
    team       BIGINT NOT NULL CHECK (team IN (1, 2)),
    name       TEXT COLLATE "C" NOT NULL,           -- clean name, latest seen in the session
    rounds     BIGINT NOT NULL,        -- rounds played (a map's pair counts once per group played in)
    seconds    DOUBLE PRECISION NOT NULL,           -- time played for this team
    PRIMARY KEY (session_id, player_key)
);

-- One row per map played: a stopwatch pair, a lone round 1 or a round 2 without its round 1.
CREATE TABLE session_maps (
    session_id     BIGINT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq            BIGINT NOT NULL,    -- play order, from 1
    map            TEXT COLLATE "C" NOT NULL,
    r1_round_id    BIGINT REFERENCES rounds(id) ON DELETE SET NULL,
    r2_round_id    BIGINT REFERENCES rounds(id) ON DELETE SET NULL,
    result         TEXT COLLATE "C" NOT NULL CHECK (result IN ('win', 'draw', 'no_result')),
    attacked_first BIGINT,             -- team number (1/2)
    winner         BIGINT,             -- team number; NULL for a draw or no result
    r1_time_s      BIGINT,             -- the time the first attackers set (the limit when held)
    r2_time_s      BIGINT,
    fullhold_r1    BIGINT NOT NULL DEFAULT 0,
    fullhold_r2    BIGINT NOT NULL DEFAULT 0,
    note           TEXT COLLATE "C" NOT NULL DEFAULT '',
    lineups        TEXT COLLATE "C" NOT NULL DEFAULT '{}',  -- JSON {"1": [player_key, ...], "2": [...]}
    PRIMARY KEY (session_id, seq)
);
