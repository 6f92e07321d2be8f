-- PostgreSQL twin of ../0013_round_bests.sql (same number, name and end state; see bot/db/pg_migrations.py).
-- 0013: per round, its map and its best kills and best DPM of a human player, for /records map:X
-- (bot/db/records.py): a map's top N rows are among its top N rounds by that best, so the query walks
-- N entries of (map, best) instead of every player row of the other maps. See the SQLite file for the
-- reasoning. Here the triggers run once per statement over its transition table (the import COPYs a
-- round's player rows in one statement), not once per row.
CREATE TABLE round_bests (
    round_id BIGINT PRIMARY KEY REFERENCES rounds(id) ON DELETE CASCADE,
    map      TEXT COLLATE "C" NOT NULL,
    kills    BIGINT NOT NULL,    -- the most kills of a human player in the round
    dpm      DOUBLE PRECISION    -- the best damage per minute (>= 5 minutes played, damage > 0), else NULL
);
CREATE INDEX round_bests_kills ON round_bests(map, kills DESC, round_id);
CREATE INDEX round_bests_dpm ON round_bests(map, dpm DESC, round_id) WHERE dpm IS NOT NULL;

INSERT INTO round_bests(round_id, map, kills, dpm)
    SELECT p.round_id, r.map, max(p.kills),
        max(CASE WHEN p.time_played_min >= 5 AND p.damage_given > 0 THEN CAST(p.damage_given AS DOUBLE PRECISION) / p.time_played_min END)
    FROM player_stats p JOIN rounds r ON r.id = p.round_id WHERE p.guid != 'OMNIBOT0' GROUP BY p.round_id, r.map;

CREATE FUNCTION round_bests_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO round_bests(round_id, map, kills, dpm)
        SELECT n.round_id, r.map, max(n.kills),
            max(CASE WHEN n.time_played_min >= 5 AND n.damage_given > 0 THEN CAST(n.damage_given AS DOUBLE PRECISION) / n.time_played_min END)
        FROM new_rows n JOIN rounds r ON r.id = n.round_id WHERE n.guid != 'OMNIBOT0' GROUP BY n.round_id, r.map
        ON CONFLICT(round_id) DO UPDATE SET kills = GREATEST(round_bests.kills, excluded.kills),
            dpm = GREATEST(round_bests.dpm, excluded.dpm);
    RETURN NULL;
END;
$$;
CREATE TRIGGER round_bests_add AFTER INSERT ON player_stats
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION round_bests_add();

CREATE FUNCTION round_bests_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM round_bests b WHERE b.round_id IN (SELECT o.round_id FROM old_rows o WHERE o.guid != 'OMNIBOT0')
        AND NOT EXISTS (SELECT 1 FROM player_stats p WHERE p.round_id = b.round_id AND p.guid != 'OMNIBOT0');
    UPDATE round_bests b SET (kills, dpm) = (
        SELECT max(p.kills),
            max(CASE WHEN p.time_played_min >= 5 AND p.damage_given > 0 THEN CAST(p.damage_given AS DOUBLE PRECISION) / p.time_played_min END)
        FROM player_stats p WHERE p.round_id = b.round_id AND p.guid != 'OMNIBOT0')
        WHERE b.round_id IN (SELECT o.round_id FROM old_rows o WHERE o.guid != 'OMNIBOT0');
    RETURN NULL;
END;
$$;
CREATE TRIGGER round_bests_remove AFTER DELETE ON player_stats
REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION round_bests_remove();
