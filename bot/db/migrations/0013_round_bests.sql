-- 0013: /records map:X without walking every player row (bot/db/records.py). The best single rounds
-- of all maps come from walking player_stats_kills / player_stats_dpm from the top (0007), which stops
-- after three hits; for ONE map that walk skips every row of the other maps first: ~2 s at 1,000,000
-- player rows for a map played once. The map lives on `rounds`, so no index of player_stats can lead
-- with it. Kept here instead: per round, its map and its best kills and best DPM (human players only;
-- DPM as the player_stats_dpm index computes it, for rounds of >= 5 minutes with damage, the literal 5
-- is records.MIN_DPM_MINUTES). A map's top N player rows are among its top N rounds by that best (a
-- row of a lower round is beaten by the N round bests above it), so the query walks N rounds of this
-- index and sorts their few dozen player rows.
--
-- The values follow the player rows whatever the round's status (the query checks the status per round,
-- as the walk over player_stats does); rows of the round inserted raise them, rows deleted recompute
-- them from what is left (a round's dozen rows), and the row goes with its last human player or its
-- round. player_stats rows are never updated in place (a re-derivation deletes and inserts them).
CREATE TABLE round_bests (
    round_id INTEGER PRIMARY KEY REFERENCES rounds(id) ON DELETE CASCADE,
    map      TEXT NOT NULL,
    kills    INTEGER NOT NULL,  -- the most kills of a human player in the round
    dpm      REAL               -- the best damage per minute (>= 5 minutes played, damage > 0), else NULL
);
CREATE INDEX round_bests_kills ON round_bests(map, kills DESC, round_id);
CREATE INDEX round_bests_dpm ON round_bests(map, dpm DESC, round_id) WHERE dpm IS NOT NULL;

INSERT INTO round_bests(round_id, map, kills, dpm)
    SELECT p.round_id, r.map, max(p.kills),
        max(CASE WHEN p.time_played_min >= 5 AND p.damage_given > 0 THEN CAST(p.damage_given AS REAL) / p.time_played_min END)
    FROM player_stats p JOIN rounds r ON r.id = p.round_id WHERE p.guid != 'OMNIBOT0' GROUP BY p.round_id, r.map;

CREATE TRIGGER round_bests_add AFTER INSERT ON player_stats
WHEN new.guid != 'OMNIBOT0'
BEGIN
    INSERT INTO round_bests(round_id, map, kills, dpm)
        SELECT new.round_id, r.map, new.kills,
            CASE WHEN new.time_played_min >= 5 AND new.damage_given > 0 THEN CAST(new.damage_given AS REAL) / new.time_played_min END
        FROM rounds r WHERE r.id = new.round_id
        ON CONFLICT(round_id) DO UPDATE SET kills = max(kills, excluded.kills),
            dpm = max(coalesce(dpm, excluded.dpm), coalesce(excluded.dpm, dpm));
END;

CREATE TRIGGER round_bests_remove AFTER DELETE ON player_stats
WHEN old.guid != 'OMNIBOT0'
BEGIN
    DELETE FROM round_bests WHERE round_id = old.round_id
        AND NOT EXISTS (SELECT 1 FROM player_stats p WHERE p.round_id = old.round_id AND p.guid != 'OMNIBOT0');
    UPDATE round_bests SET (kills, dpm) = (
        SELECT max(p.kills),
            max(CASE WHEN p.time_played_min >= 5 AND p.damage_given > 0 THEN CAST(p.damage_given AS REAL) / p.time_played_min END)
        FROM player_stats p WHERE p.round_id = old.round_id AND p.guid != 'OMNIBOT0')
        WHERE round_id = old.round_id;
END;
