-- 0009: win/loss/draw records per player, kept (not recomputed) from the session teams of 0006.
--
-- `player_map_results` holds one row per (session map, player) for the maps of DERIVED sessions that
-- have a result (win or draw; a map with no result counts for no one). It is written by
-- bot.db.session_teams.derive_sync in the transaction that stores the session's maps, and emptied for
-- a session as soon as its `derived` flag is cleared (a round joined, left or was paired): a session
-- counts only as last derived, and the open session counts once it is summarised (its session post, or
-- any reader that derives it). A player in both lineups of one map (switched sides) counts for neither.
-- Triggers keep `player_results` (all time) and `player_day_results` (per day of the map's round 1,
-- for the period boards) exact, whatever removes the rows (re-derivation, a deleted session).

CREATE TABLE player_map_results (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,        -- session_maps.seq
    player_key TEXT NOT NULL,
    day        TEXT NOT NULL,           -- 'YYYY-MM-DD' of the map's first round played_at
    outcome    TEXT NOT NULL CHECK (outcome IN ('won', 'lost', 'drawn')),
    PRIMARY KEY (session_id, seq, player_key)
) WITHOUT ROWID;

CREATE TABLE player_results (
    player_key TEXT PRIMARY KEY,
    won        INTEGER NOT NULL,
    lost       INTEGER NOT NULL,
    drawn      INTEGER NOT NULL,
    maps       INTEGER NOT NULL         -- won + lost + drawn (the win-rate board's minimum)
) WITHOUT ROWID;

CREATE TABLE player_day_results (
    day        TEXT NOT NULL,
    player_key TEXT NOT NULL,
    won        INTEGER NOT NULL,
    lost       INTEGER NOT NULL,
    drawn      INTEGER NOT NULL,
    maps       INTEGER NOT NULL,
    PRIMARY KEY (day, player_key)
) WITHOUT ROWID;
CREATE INDEX player_day_results_player ON player_day_results(player_key, day);

CREATE TRIGGER player_map_results_add AFTER INSERT ON player_map_results BEGIN
    INSERT INTO player_results(player_key, won, lost, drawn, maps)
        VALUES (new.player_key, new.outcome = 'won', new.outcome = 'lost', new.outcome = 'drawn', 1)
        ON CONFLICT(player_key) DO UPDATE SET won = won + excluded.won, lost = lost + excluded.lost,
            drawn = drawn + excluded.drawn, maps = maps + 1;
    INSERT INTO player_day_results(day, player_key, won, lost, drawn, maps)
        VALUES (new.day, new.player_key, new.outcome = 'won', new.outcome = 'lost', new.outcome = 'drawn', 1)
        ON CONFLICT(day, player_key) DO UPDATE SET won = won + excluded.won, lost = lost + excluded.lost,
            drawn = drawn + excluded.drawn, maps = maps + 1;
END;

CREATE TRIGGER player_map_results_sub AFTER DELETE ON player_map_results BEGIN
    UPDATE player_results SET won = won - (old.outcome = 'won'), lost = lost - (old.outcome = 'lost'),
        drawn = drawn - (old.outcome = 'drawn'), maps = maps - 1 WHERE player_key = old.player_key;
    DELETE FROM player_results WHERE player_key = old.player_key AND maps <= 0;
    UPDATE player_day_results SET won = won - (old.outcome = 'won'), lost = lost - (old.outcome = 'lost'),
        drawn = drawn - (old.outcome = 'drawn'), maps = maps - 1
        WHERE day = old.day AND player_key = old.player_key;
    DELETE FROM player_day_results WHERE day = old.day AND player_key = old.player_key AND maps <= 0;
END;

-- A stale derivation counts for no one until the session is derived again.
CREATE TRIGGER sessions_underived_results AFTER UPDATE OF derived ON sessions
WHEN new.derived = 0 AND old.derived = 1 BEGIN
    DELETE FROM player_map_results WHERE session_id = new.id;
END;

-- Backfill: the sessions derived already (the rule of session_teams._map_results).
INSERT INTO player_map_results(session_id, seq, player_key, day, outcome)
    SELECT m.session_id, m.seq, p.value,
        substr(coalesce(r1.played_at, r2.played_at, s.started_at), 1, 10),
        min(CASE WHEN m.result = 'draw' THEN 'drawn' WHEN m.winner = CAST(l.key AS INTEGER) THEN 'won' ELSE 'lost' END)
    FROM session_maps m JOIN sessions s ON s.id = m.session_id
        JOIN json_each(m.lineups) l JOIN json_each(l.value) p
        LEFT JOIN rounds r1 ON r1.id = m.r1_round_id LEFT JOIN rounds r2 ON r2.id = m.r2_round_id
    WHERE s.derived = 1 AND m.result IN ('win', 'draw') AND p.value NOT LIKE 'OMNIBOT0:%'
    GROUP BY m.session_id, m.seq, p.value HAVING count(*) = 1;
