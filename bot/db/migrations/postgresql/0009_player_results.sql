-- PostgreSQL twin of ../0009_player_results.sql (same number, name and end state; see bot/db/pg_migrations.py).
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
    session_id BIGINT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq        BIGINT NOT NULL,        -- session_maps.seq
    player_key TEXT COLLATE "C" NOT NULL,
    day        TEXT COLLATE "C" NOT NULL,           -- 'YYYY-MM-DD' of the map's first round played_at
    outcome    TEXT COLLATE "C" NOT NULL CHECK (outcome IN ('won', 'lost', 'drawn')),
    PRIMARY KEY (session_id, seq, player_key)
);

CREATE TABLE player_results (
    player_key TEXT COLLATE "C" PRIMARY KEY,
    won        BIGINT NOT NULL,
    lost       BIGINT NOT NULL,
    drawn      BIGINT NOT NULL,
    maps       BIGINT NOT NULL         -- won + lost + drawn (the win-rate board's minimum)
);

CREATE TABLE player_day_results (
    day        TEXT COLLATE "C" NOT NULL,
    player_key TEXT COLLATE "C" NOT NULL,
    won        BIGINT NOT NULL,
    lost       BIGINT NOT NULL,
    drawn      BIGINT NOT NULL,
    maps       BIGINT NOT NULL,
    PRIMARY KEY (day, player_key)
);
CREATE INDEX player_day_results_player ON player_day_results(player_key, day);

CREATE FUNCTION player_map_results_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO player_results(player_key, won, lost, drawn, maps)
        VALUES (new.player_key, (new.outcome = 'won')::int, (new.outcome = 'lost')::int, (new.outcome = 'drawn')::int, 1)
        ON CONFLICT(player_key) DO UPDATE SET won = player_results.won + excluded.won, lost = player_results.lost + excluded.lost,
            drawn = player_results.drawn + excluded.drawn, maps = player_results.maps + 1;
    INSERT INTO player_day_results(day, player_key, won, lost, drawn, maps)
        VALUES (new.day, new.player_key, (new.outcome = 'won')::int, (new.outcome = 'lost')::int, (new.outcome = 'drawn')::int, 1)
        ON CONFLICT(day, player_key) DO UPDATE SET won = player_day_results.won + excluded.won, lost = player_day_results.lost + excluded.lost,
            drawn = player_day_results.drawn + excluded.drawn, maps = player_day_results.maps + 1;
    RETURN NULL;
END;
$$;
CREATE TRIGGER player_map_results_add AFTER INSERT ON player_map_results
FOR EACH ROW EXECUTE FUNCTION player_map_results_add();

CREATE FUNCTION player_map_results_sub() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE player_results SET won = won - ((old.outcome = 'won')::int), lost = lost - ((old.outcome = 'lost')::int),
        drawn = drawn - ((old.outcome = 'drawn')::int), maps = maps - 1 WHERE player_key = old.player_key;
    DELETE FROM player_results WHERE player_key = old.player_key AND maps <= 0;
    UPDATE player_day_results SET won = won - ((old.outcome = 'won')::int), lost = lost - ((old.outcome = 'lost')::int),
        drawn = drawn - ((old.outcome = 'drawn')::int), maps = maps - 1
        WHERE day = old.day AND player_key = old.player_key;
    DELETE FROM player_day_results WHERE day = old.day AND player_key = old.player_key AND maps <= 0;
    RETURN NULL;
END;
$$;
CREATE TRIGGER player_map_results_sub AFTER DELETE ON player_map_results
FOR EACH ROW EXECUTE FUNCTION player_map_results_sub();

-- A stale derivation counts for no one until the session is derived again.
CREATE FUNCTION sessions_underived_results() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM player_map_results WHERE session_id = new.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER sessions_underived_results AFTER UPDATE OF derived ON sessions
FOR EACH ROW
WHEN (new.derived = 0 AND old.derived = 1) EXECUTE FUNCTION sessions_underived_results();

-- Backfill: the sessions derived already (the rule of session_teams._map_results).
-- SQLite walks the JSON lineups with json_each; here jsonb_each / jsonb_array_elements_text of the same
-- TEXT column. NOT ILIKE: SQLite's LIKE ignores ASCII case.
INSERT INTO player_map_results(session_id, seq, player_key, day, outcome)
    SELECT m.session_id, m.seq, p.value,
        min(substr(coalesce(r1.played_at, r2.played_at, s.started_at), 1, 10)),  -- one value per group
        min(CASE WHEN m.result = 'draw' THEN 'drawn' WHEN m.winner = CAST(l.key AS BIGINT) THEN 'won' ELSE 'lost' END)
    FROM session_maps m JOIN sessions s ON s.id = m.session_id
        CROSS JOIN LATERAL jsonb_each(m.lineups::jsonb) l
        CROSS JOIN LATERAL jsonb_array_elements_text(l.value) p(value)
        LEFT JOIN rounds r1 ON r1.id = m.r1_round_id LEFT JOIN rounds r2 ON r2.id = m.r2_round_id
    WHERE s.derived = 1 AND m.result IN ('win', 'draw') AND p.value NOT ILIKE 'OMNIBOT0:%'
    GROUP BY m.session_id, m.seq, p.value HAVING count(*) = 1;
