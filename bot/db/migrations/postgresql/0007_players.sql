-- PostgreSQL twin of ../0007_players.sql (same number, name and end state; see bot/db/pg_migrations.py).
-- 0003: players and aliases as first-class data, and per-player aggregates kept (not recomputed).
-- GENERATED layout, hand-checked: the same column list repeats in every table and trigger below.
--
-- Every aggregate is the sum over player rows of COUNTED rounds (status r1 or paired: round 1s and
-- round-2-only values; pending and orphan round 2s hold R1+R2 cumulative values and are not counted).
-- Triggers keep them exact in the transaction that changes the rows, whatever the path (import, R2
-- re-derivation, reprocess, a deleted round):
--   * a player/weapon row inserted or deleted while its round counts adds or subtracts itself;
--   * a round whose status starts or stops counting adds or subtracts all its rows;
--   * a counted round about to be deleted subtracts its rows first (the cascade then finds no round).
-- first_seen/last_seen move back when the round removed was a player's first or last one.
-- Names: `alias` is lower(trim(clean_name)) (colour codes are already gone from clean_name).

CREATE TABLE players (
    player_key TEXT COLLATE "C" PRIMARY KEY,        -- guid, or 'OMNIBOT0:<clean name>' for bots
    guid       TEXT COLLATE "C" NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,           -- latest name as played, with colour codes
    clean_name TEXT COLLATE "C" NOT NULL,           -- latest name without colour codes
    is_bot     BIGINT NOT NULL,
    first_seen TEXT COLLATE "C" NOT NULL,           -- played_at of the first / last counted round
    last_seen  TEXT COLLATE "C" NOT NULL,
    rounds BIGINT NOT NULL,
    kills BIGINT NOT NULL,
    deaths BIGINT NOT NULL,
    damage_given BIGINT NOT NULL,
    damage_received BIGINT NOT NULL,
    time_played_min DOUBLE PRECISION NOT NULL,
    shots BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    headshot_kills BIGINT NOT NULL,
    gibs BIGINT NOT NULL,
    revives_given BIGINT NOT NULL,
    times_revived BIGINT NOT NULL,
    objectives BIGINT NOT NULL,
    dynamites BIGINT NOT NULL,
    multikills BIGINT NOT NULL,
    xp BIGINT NOT NULL,
    kill_assists BIGINT NOT NULL,
    team_kills BIGINT NOT NULL,
    self_kills BIGINT NOT NULL
);
CREATE INDEX players_guid ON players(guid);
CREATE INDEX players_rounds ON players(is_bot, rounds DESC);

CREATE TABLE player_aliases (
    player_key TEXT COLLATE "C" NOT NULL,
    alias      TEXT COLLATE "C" NOT NULL,           -- lower(trim(clean_name)): the lookup key
    name       TEXT COLLATE "C" NOT NULL,
    clean_name TEXT COLLATE "C" NOT NULL,
    first_seen TEXT COLLATE "C" NOT NULL,
    last_seen  TEXT COLLATE "C" NOT NULL,
    rounds     BIGINT NOT NULL,
    PRIMARY KEY (player_key, alias)
);
CREATE INDEX player_aliases_alias ON player_aliases(alias, rounds);

CREATE TABLE player_days (
    day        TEXT COLLATE "C" NOT NULL,           -- 'YYYY-MM-DD' of played_at (game server's local date)
    player_key TEXT COLLATE "C" NOT NULL,
    rounds BIGINT NOT NULL,
    kills BIGINT NOT NULL,
    deaths BIGINT NOT NULL,
    damage_given BIGINT NOT NULL,
    damage_received BIGINT NOT NULL,
    time_played_min DOUBLE PRECISION NOT NULL,
    shots BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    headshot_kills BIGINT NOT NULL,
    gibs BIGINT NOT NULL,
    revives_given BIGINT NOT NULL,
    times_revived BIGINT NOT NULL,
    objectives BIGINT NOT NULL,
    dynamites BIGINT NOT NULL,
    multikills BIGINT NOT NULL,
    xp BIGINT NOT NULL,
    kill_assists BIGINT NOT NULL,
    team_kills BIGINT NOT NULL,
    self_kills BIGINT NOT NULL,
    PRIMARY KEY (day, player_key)
);
CREATE INDEX player_days_player ON player_days(player_key, day);

CREATE TABLE player_maps (
    map        TEXT COLLATE "C" NOT NULL,
    player_key TEXT COLLATE "C" NOT NULL,
    rounds BIGINT NOT NULL,
    kills BIGINT NOT NULL,
    deaths BIGINT NOT NULL,
    damage_given BIGINT NOT NULL,
    damage_received BIGINT NOT NULL,
    time_played_min DOUBLE PRECISION NOT NULL,
    shots BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    headshot_kills BIGINT NOT NULL,
    gibs BIGINT NOT NULL,
    revives_given BIGINT NOT NULL,
    times_revived BIGINT NOT NULL,
    objectives BIGINT NOT NULL,
    dynamites BIGINT NOT NULL,
    multikills BIGINT NOT NULL,
    xp BIGINT NOT NULL,
    kill_assists BIGINT NOT NULL,
    team_kills BIGINT NOT NULL,
    self_kills BIGINT NOT NULL,
    PRIMARY KEY (map, player_key)
);
CREATE INDEX player_maps_player ON player_maps(player_key, map);

CREATE TABLE player_weapons (
    player_key TEXT COLLATE "C" NOT NULL,
    weapon     TEXT COLLATE "C" NOT NULL,
    rounds     BIGINT NOT NULL,
    kills      BIGINT NOT NULL,
    deaths     BIGINT NOT NULL,
    hits       BIGINT NOT NULL,
    shots      BIGINT NOT NULL,
    headshots  BIGINT NOT NULL,
    PRIMARY KEY (player_key, weapon)
);

-- Per map: counted rounds, their summed length, how many the defence held, the last one played.
CREATE TABLE map_totals (
    map         TEXT COLLATE "C" PRIMARY KEY,
    rounds      BIGINT NOT NULL,
    seconds     BIGINT NOT NULL,
    held        BIGINT NOT NULL,
    last_played TEXT COLLATE "C" NOT NULL
);

-- Records: the best single rounds are found by walking these indexes from the top.
CREATE INDEX player_stats_kills ON player_stats(kills);
CREATE INDEX player_stats_dpm ON player_stats((CAST(damage_given AS DOUBLE PRECISION) / time_played_min)) WHERE time_played_min >= 5;
CREATE INDEX rounds_map_fastest ON rounds(map, duration_s) WHERE winner != defender;
-- /last_round: the newest round (of a server) without sorting every round; the rowid (= id) is the
-- tie-break the query orders by.
CREATE INDEX rounds_played ON rounds(played_at);
CREATE INDEX rounds_server_played_id ON rounds(server, played_at);

-- Backfill from the rows already stored. (On PostgreSQL the tables are empty here: `db migrate` copies
-- into the finished schema. SQLite's bare p.name / p.clean_name come from an unspecified row of the
-- group; PostgreSQL wants an aggregate: the latest round's, as the triggers keep it.)
INSERT INTO player_aliases(player_key, alias, name, clean_name, first_seen, last_seen, rounds)
    SELECT p.player_key, lower(trim(p.clean_name) COLLATE "C"),
        (array_agg(p.name ORDER BY r.played_at DESC, r.id DESC))[1], (array_agg(p.clean_name ORDER BY r.played_at DESC, r.id DESC))[1],
        min(r.played_at), max(r.played_at), count(*)
    FROM player_stats p JOIN rounds r ON r.id = p.round_id WHERE r.status IN ('r1', 'paired') GROUP BY p.player_key, lower(trim(p.clean_name) COLLATE "C");
INSERT INTO players(player_key, guid, name, clean_name, is_bot, first_seen, last_seen, rounds, kills, deaths, damage_given, damage_received, time_played_min, shots, hits, headshot_kills, gibs, revives_given, times_revived, objectives, dynamites, multikills, xp, kill_assists, team_kills, self_kills)
    SELECT p.player_key, min(p.guid), '', '', (min(p.guid) = 'OMNIBOT0')::int, min(r.played_at), max(r.played_at), count(*), sum(p.kills), sum(p.deaths), sum(coalesce(p.damage_given, 0)), sum(coalesce(p.damage_received, 0)), sum(coalesce(p.time_played_min, 0)), sum(p.shots), sum(p.hits), sum(coalesce(p.headshot_kills, 0)), sum(coalesce(p.gibs, 0)), sum(coalesce(p.revives_given, 0)), sum(coalesce(p.times_revived, 0)), sum(coalesce(p.objectives_stolen, 0) + coalesce(p.objectives_returned, 0)), sum(coalesce(p.dynamites_planted, 0) + coalesce(p.dynamites_defused, 0)), sum(coalesce(p.multikill_3, 0) + coalesce(p.multikill_4, 0) + coalesce(p.multikill_5, 0) + coalesce(p.multikill_6, 0)), sum(coalesce(p.xp, 0)), sum(coalesce(p.kill_assists, 0)), sum(coalesce(p.team_kills, 0)), sum(coalesce(p.self_kills, 0))
    FROM player_stats p JOIN rounds r ON r.id = p.round_id WHERE r.status IN ('r1', 'paired') GROUP BY p.player_key;
UPDATE players SET (name, clean_name) = (
    SELECT a.name, a.clean_name FROM player_aliases a WHERE a.player_key = players.player_key
    ORDER BY a.last_seen DESC, a.rounds DESC LIMIT 1);
INSERT INTO player_days(day, player_key, rounds, kills, deaths, damage_given, damage_received, time_played_min, shots, hits, headshot_kills, gibs, revives_given, times_revived, objectives, dynamites, multikills, xp, kill_assists, team_kills, self_kills)
    SELECT substr(r.played_at, 1, 10), p.player_key, count(*), sum(p.kills), sum(p.deaths), sum(coalesce(p.damage_given, 0)), sum(coalesce(p.damage_received, 0)), sum(coalesce(p.time_played_min, 0)), sum(p.shots), sum(p.hits), sum(coalesce(p.headshot_kills, 0)), sum(coalesce(p.gibs, 0)), sum(coalesce(p.revives_given, 0)), sum(coalesce(p.times_revived, 0)), sum(coalesce(p.objectives_stolen, 0) + coalesce(p.objectives_returned, 0)), sum(coalesce(p.dynamites_planted, 0) + coalesce(p.dynamites_defused, 0)), sum(coalesce(p.multikill_3, 0) + coalesce(p.multikill_4, 0) + coalesce(p.multikill_5, 0) + coalesce(p.multikill_6, 0)), sum(coalesce(p.xp, 0)), sum(coalesce(p.kill_assists, 0)), sum(coalesce(p.team_kills, 0)), sum(coalesce(p.self_kills, 0)) FROM player_stats p JOIN rounds r ON r.id = p.round_id WHERE r.status IN ('r1', 'paired') GROUP BY 1, 2;
INSERT INTO player_maps(map, player_key, rounds, kills, deaths, damage_given, damage_received, time_played_min, shots, hits, headshot_kills, gibs, revives_given, times_revived, objectives, dynamites, multikills, xp, kill_assists, team_kills, self_kills)
    SELECT r.map, p.player_key, count(*), sum(p.kills), sum(p.deaths), sum(coalesce(p.damage_given, 0)), sum(coalesce(p.damage_received, 0)), sum(coalesce(p.time_played_min, 0)), sum(p.shots), sum(p.hits), sum(coalesce(p.headshot_kills, 0)), sum(coalesce(p.gibs, 0)), sum(coalesce(p.revives_given, 0)), sum(coalesce(p.times_revived, 0)), sum(coalesce(p.objectives_stolen, 0) + coalesce(p.objectives_returned, 0)), sum(coalesce(p.dynamites_planted, 0) + coalesce(p.dynamites_defused, 0)), sum(coalesce(p.multikill_3, 0) + coalesce(p.multikill_4, 0) + coalesce(p.multikill_5, 0) + coalesce(p.multikill_6, 0)), sum(coalesce(p.xp, 0)), sum(coalesce(p.kill_assists, 0)), sum(coalesce(p.team_kills, 0)), sum(coalesce(p.self_kills, 0)) FROM player_stats p JOIN rounds r ON r.id = p.round_id WHERE r.status IN ('r1', 'paired') GROUP BY 1, 2;
INSERT INTO player_weapons(player_key, weapon, rounds, kills, deaths, hits, shots, headshots)
    SELECT w.player_key, w.weapon, count(*), sum(w.kills), sum(w.deaths), sum(w.hits), sum(w.shots), sum(w.headshots)
    FROM weapon_stats w JOIN rounds r ON r.id = w.round_id WHERE r.status IN ('r1', 'paired') GROUP BY 1, 2;
INSERT INTO map_totals(map, rounds, seconds, held, last_played)
    SELECT map, count(*), sum(coalesce(duration_s, 0)), sum((winner = defender)::int), max(played_at)
    FROM rounds WHERE status IN ('r1', 'paired') GROUP BY map;

-- A player row inserted into a counted round.
CREATE FUNCTION player_stats_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT status FROM rounds WHERE id = new.round_id) IN ('r1', 'paired') THEN
        INSERT INTO players(player_key, guid, name, clean_name, is_bot, first_seen, last_seen, rounds, kills, deaths, damage_given, damage_received, time_played_min, shots, hits, headshot_kills, gibs, revives_given, times_revived, objectives, dynamites, multikills, xp, kill_assists, team_kills, self_kills)
            SELECT new.player_key, new.guid, new.name, new.clean_name, (new.guid = 'OMNIBOT0')::int, r.played_at, r.played_at, 1, (new.kills), (new.deaths), (coalesce(new.damage_given, 0)), (coalesce(new.damage_received, 0)), (coalesce(new.time_played_min, 0)), (new.shots), (new.hits), (coalesce(new.headshot_kills, 0)), (coalesce(new.gibs, 0)), (coalesce(new.revives_given, 0)), (coalesce(new.times_revived, 0)), (coalesce(new.objectives_stolen, 0) + coalesce(new.objectives_returned, 0)), (coalesce(new.dynamites_planted, 0) + coalesce(new.dynamites_defused, 0)), (coalesce(new.multikill_3, 0) + coalesce(new.multikill_4, 0) + coalesce(new.multikill_5, 0) + coalesce(new.multikill_6, 0)), (coalesce(new.xp, 0)), (coalesce(new.kill_assists, 0)), (coalesce(new.team_kills, 0)), (coalesce(new.self_kills, 0)) FROM rounds r WHERE r.id = new.round_id AND r.status IN ('r1', 'paired')
            ON CONFLICT(player_key) DO UPDATE SET rounds = players.rounds + excluded.rounds, kills = players.kills + excluded.kills, deaths = players.deaths + excluded.deaths, damage_given = players.damage_given + excluded.damage_given, damage_received = players.damage_received + excluded.damage_received, time_played_min = players.time_played_min + excluded.time_played_min, shots = players.shots + excluded.shots, hits = players.hits + excluded.hits, headshot_kills = players.headshot_kills + excluded.headshot_kills, gibs = players.gibs + excluded.gibs, revives_given = players.revives_given + excluded.revives_given, times_revived = players.times_revived + excluded.times_revived, objectives = players.objectives + excluded.objectives, dynamites = players.dynamites + excluded.dynamites, multikills = players.multikills + excluded.multikills, xp = players.xp + excluded.xp, kill_assists = players.kill_assists + excluded.kill_assists, team_kills = players.team_kills + excluded.team_kills, self_kills = players.self_kills + excluded.self_kills,
                first_seen = LEAST(players.first_seen, excluded.first_seen), last_seen = GREATEST(players.last_seen, excluded.last_seen),
                name = CASE WHEN excluded.last_seen >= players.last_seen THEN excluded.name ELSE players.name END,
                clean_name = CASE WHEN excluded.last_seen >= players.last_seen THEN excluded.clean_name ELSE players.clean_name END;
        INSERT INTO player_aliases(player_key, alias, name, clean_name, first_seen, last_seen, rounds)
            SELECT new.player_key, lower(trim(new.clean_name) COLLATE "C"), new.name, new.clean_name, r.played_at, r.played_at, 1 FROM rounds r WHERE r.id = new.round_id AND r.status IN ('r1', 'paired')
            ON CONFLICT(player_key, alias) DO UPDATE SET rounds = player_aliases.rounds + 1,
                first_seen = LEAST(player_aliases.first_seen, excluded.first_seen), last_seen = GREATEST(player_aliases.last_seen, excluded.last_seen),
                name = CASE WHEN excluded.last_seen >= player_aliases.last_seen THEN excluded.name ELSE player_aliases.name END,
                clean_name = CASE WHEN excluded.last_seen >= player_aliases.last_seen THEN excluded.clean_name ELSE player_aliases.clean_name END;
        INSERT INTO player_days(day, player_key, rounds, kills, deaths, damage_given, damage_received, time_played_min, shots, hits, headshot_kills, gibs, revives_given, times_revived, objectives, dynamites, multikills, xp, kill_assists, team_kills, self_kills)
            SELECT substr(r.played_at, 1, 10), new.player_key, 1, (new.kills), (new.deaths), (coalesce(new.damage_given, 0)), (coalesce(new.damage_received, 0)), (coalesce(new.time_played_min, 0)), (new.shots), (new.hits), (coalesce(new.headshot_kills, 0)), (coalesce(new.gibs, 0)), (coalesce(new.revives_given, 0)), (coalesce(new.times_revived, 0)), (coalesce(new.objectives_stolen, 0) + coalesce(new.objectives_returned, 0)), (coalesce(new.dynamites_planted, 0) + coalesce(new.dynamites_defused, 0)), (coalesce(new.multikill_3, 0) + coalesce(new.multikill_4, 0) + coalesce(new.multikill_5, 0) + coalesce(new.multikill_6, 0)), (coalesce(new.xp, 0)), (coalesce(new.kill_assists, 0)), (coalesce(new.team_kills, 0)), (coalesce(new.self_kills, 0)) FROM rounds r WHERE r.id = new.round_id AND r.status IN ('r1', 'paired')
            ON CONFLICT(day, player_key) DO UPDATE SET rounds = player_days.rounds + excluded.rounds, kills = player_days.kills + excluded.kills, deaths = player_days.deaths + excluded.deaths, damage_given = player_days.damage_given + excluded.damage_given, damage_received = player_days.damage_received + excluded.damage_received, time_played_min = player_days.time_played_min + excluded.time_played_min, shots = player_days.shots + excluded.shots, hits = player_days.hits + excluded.hits, headshot_kills = player_days.headshot_kills + excluded.headshot_kills, gibs = player_days.gibs + excluded.gibs, revives_given = player_days.revives_given + excluded.revives_given, times_revived = player_days.times_revived + excluded.times_revived, objectives = player_days.objectives + excluded.objectives, dynamites = player_days.dynamites + excluded.dynamites, multikills = player_days.multikills + excluded.multikills, xp = player_days.xp + excluded.xp, kill_assists = player_days.kill_assists + excluded.kill_assists, team_kills = player_days.team_kills + excluded.team_kills, self_kills = player_days.self_kills + excluded.self_kills;
        INSERT INTO player_maps(map, player_key, rounds, kills, deaths, damage_given, damage_received, time_played_min, shots, hits, headshot_kills, gibs, revives_given, times_revived, objectives, dynamites, multikills, xp, kill_assists, team_kills, self_kills)
            SELECT r.map, new.player_key, 1, (new.kills), (new.deaths), (coalesce(new.damage_given, 0)), (coalesce(new.damage_received, 0)), (coalesce(new.time_played_min, 0)), (new.shots), (new.hits), (coalesce(new.headshot_kills, 0)), (coalesce(new.gibs, 0)), (coalesce(new.revives_given, 0)), (coalesce(new.times_revived, 0)), (coalesce(new.objectives_stolen, 0) + coalesce(new.objectives_returned, 0)), (coalesce(new.dynamites_planted, 0) + coalesce(new.dynamites_defused, 0)), (coalesce(new.multikill_3, 0) + coalesce(new.multikill_4, 0) + coalesce(new.multikill_5, 0) + coalesce(new.multikill_6, 0)), (coalesce(new.xp, 0)), (coalesce(new.kill_assists, 0)), (coalesce(new.team_kills, 0)), (coalesce(new.self_kills, 0)) FROM rounds r WHERE r.id = new.round_id AND r.status IN ('r1', 'paired')
            ON CONFLICT(map, player_key) DO UPDATE SET rounds = player_maps.rounds + excluded.rounds, kills = player_maps.kills + excluded.kills, deaths = player_maps.deaths + excluded.deaths, damage_given = player_maps.damage_given + excluded.damage_given, damage_received = player_maps.damage_received + excluded.damage_received, time_played_min = player_maps.time_played_min + excluded.time_played_min, shots = player_maps.shots + excluded.shots, hits = player_maps.hits + excluded.hits, headshot_kills = player_maps.headshot_kills + excluded.headshot_kills, gibs = player_maps.gibs + excluded.gibs, revives_given = player_maps.revives_given + excluded.revives_given, times_revived = player_maps.times_revived + excluded.times_revived, objectives = player_maps.objectives + excluded.objectives, dynamites = player_maps.dynamites + excluded.dynamites, multikills = player_maps.multikills + excluded.multikills, xp = player_maps.xp + excluded.xp, kill_assists = player_maps.kill_assists + excluded.kill_assists, team_kills = player_maps.team_kills + excluded.team_kills, self_kills = player_maps.self_kills + excluded.self_kills;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER player_stats_add AFTER INSERT ON player_stats
FOR EACH ROW EXECUTE FUNCTION player_stats_add();

-- A player row deleted from a counted round (replaced by another derivation).
CREATE FUNCTION player_stats_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT status FROM rounds WHERE id = old.round_id) IN ('r1', 'paired') THEN
        UPDATE players SET rounds = rounds - 1, kills = kills - (old.kills), deaths = deaths - (old.deaths), damage_given = damage_given - (coalesce(old.damage_given, 0)), damage_received = damage_received - (coalesce(old.damage_received, 0)), time_played_min = time_played_min - (coalesce(old.time_played_min, 0)), shots = shots - (old.shots), hits = hits - (old.hits), headshot_kills = headshot_kills - (coalesce(old.headshot_kills, 0)), gibs = gibs - (coalesce(old.gibs, 0)), revives_given = revives_given - (coalesce(old.revives_given, 0)), times_revived = times_revived - (coalesce(old.times_revived, 0)), objectives = objectives - (coalesce(old.objectives_stolen, 0) + coalesce(old.objectives_returned, 0)), dynamites = dynamites - (coalesce(old.dynamites_planted, 0) + coalesce(old.dynamites_defused, 0)), multikills = multikills - (coalesce(old.multikill_3, 0) + coalesce(old.multikill_4, 0) + coalesce(old.multikill_5, 0) + coalesce(old.multikill_6, 0)), xp = xp - (coalesce(old.xp, 0)), kill_assists = kill_assists - (coalesce(old.kill_assists, 0)), team_kills = team_kills - (coalesce(old.team_kills, 0)), self_kills = self_kills - (coalesce(old.self_kills, 0)) WHERE player_key = old.player_key;
        UPDATE player_aliases SET rounds = rounds - 1
            WHERE player_key = old.player_key AND alias = lower(trim(old.clean_name) COLLATE "C");
        INSERT INTO player_days(day, player_key, rounds, kills, deaths, damage_given, damage_received, time_played_min, shots, hits, headshot_kills, gibs, revives_given, times_revived, objectives, dynamites, multikills, xp, kill_assists, team_kills, self_kills)
            SELECT substr(r.played_at, 1, 10), old.player_key, -1, -(old.kills), -(old.deaths), -(coalesce(old.damage_given, 0)), -(coalesce(old.damage_received, 0)), -(coalesce(old.time_played_min, 0)), -(old.shots), -(old.hits), -(coalesce(old.headshot_kills, 0)), -(coalesce(old.gibs, 0)), -(coalesce(old.revives_given, 0)), -(coalesce(old.times_revived, 0)), -(coalesce(old.objectives_stolen, 0) + coalesce(old.objectives_returned, 0)), -(coalesce(old.dynamites_planted, 0) + coalesce(old.dynamites_defused, 0)), -(coalesce(old.multikill_3, 0) + coalesce(old.multikill_4, 0) + coalesce(old.multikill_5, 0) + coalesce(old.multikill_6, 0)), -(coalesce(old.xp, 0)), -(coalesce(old.kill_assists, 0)), -(coalesce(old.team_kills, 0)), -(coalesce(old.self_kills, 0)) FROM rounds r WHERE r.id = old.round_id AND r.status IN ('r1', 'paired')
            ON CONFLICT(day, player_key) DO UPDATE SET rounds = player_days.rounds + excluded.rounds, kills = player_days.kills + excluded.kills, deaths = player_days.deaths + excluded.deaths, damage_given = player_days.damage_given + excluded.damage_given, damage_received = player_days.damage_received + excluded.damage_received, time_played_min = player_days.time_played_min + excluded.time_played_min, shots = player_days.shots + excluded.shots, hits = player_days.hits + excluded.hits, headshot_kills = player_days.headshot_kills + excluded.headshot_kills, gibs = player_days.gibs + excluded.gibs, revives_given = player_days.revives_given + excluded.revives_given, times_revived = player_days.times_revived + excluded.times_revived, objectives = player_days.objectives + excluded.objectives, dynamites = player_days.dynamites + excluded.dynamites, multikills = player_days.multikills + excluded.multikills, xp = player_days.xp + excluded.xp, kill_assists = player_days.kill_assists + excluded.kill_assists, team_kills = player_days.team_kills + excluded.team_kills, self_kills = player_days.self_kills + excluded.self_kills;
        INSERT INTO player_maps(map, player_key, rounds, kills, deaths, damage_given, damage_received, time_played_min, shots, hits, headshot_kills, gibs, revives_given, times_revived, objectives, dynamites, multikills, xp, kill_assists, team_kills, self_kills)
            SELECT r.map, old.player_key, -1, -(old.kills), -(old.deaths), -(coalesce(old.damage_given, 0)), -(coalesce(old.damage_received, 0)), -(coalesce(old.time_played_min, 0)), -(old.shots), -(old.hits), -(coalesce(old.headshot_kills, 0)), -(coalesce(old.gibs, 0)), -(coalesce(old.revives_given, 0)), -(coalesce(old.times_revived, 0)), -(coalesce(old.objectives_stolen, 0) + coalesce(old.objectives_returned, 0)), -(coalesce(old.dynamites_planted, 0) + coalesce(old.dynamites_defused, 0)), -(coalesce(old.multikill_3, 0) + coalesce(old.multikill_4, 0) + coalesce(old.multikill_5, 0) + coalesce(old.multikill_6, 0)), -(coalesce(old.xp, 0)), -(coalesce(old.kill_assists, 0)), -(coalesce(old.team_kills, 0)), -(coalesce(old.self_kills, 0)) FROM rounds r WHERE r.id = old.round_id AND r.status IN ('r1', 'paired')
            ON CONFLICT(map, player_key) DO UPDATE SET rounds = player_maps.rounds + excluded.rounds, kills = player_maps.kills + excluded.kills, deaths = player_maps.deaths + excluded.deaths, damage_given = player_maps.damage_given + excluded.damage_given, damage_received = player_maps.damage_received + excluded.damage_received, time_played_min = player_maps.time_played_min + excluded.time_played_min, shots = player_maps.shots + excluded.shots, hits = player_maps.hits + excluded.hits, headshot_kills = player_maps.headshot_kills + excluded.headshot_kills, gibs = player_maps.gibs + excluded.gibs, revives_given = player_maps.revives_given + excluded.revives_given, times_revived = player_maps.times_revived + excluded.times_revived, objectives = player_maps.objectives + excluded.objectives, dynamites = player_maps.dynamites + excluded.dynamites, multikills = player_maps.multikills + excluded.multikills, xp = player_maps.xp + excluded.xp, kill_assists = player_maps.kill_assists + excluded.kill_assists, team_kills = player_maps.team_kills + excluded.team_kills, self_kills = player_maps.self_kills + excluded.self_kills;
        DELETE FROM players WHERE rounds <= 0 AND player_key IN (SELECT old.player_key);
        DELETE FROM player_aliases WHERE rounds <= 0 AND player_key IN (SELECT old.player_key);
        DELETE FROM player_days WHERE rounds <= 0 AND player_key IN (SELECT old.player_key);
        DELETE FROM player_maps WHERE rounds <= 0 AND player_key IN (SELECT old.player_key);
        UPDATE player_aliases SET (first_seen, last_seen) = (
            SELECT coalesce(min(r.played_at), player_aliases.first_seen), coalesce(max(r.played_at), player_aliases.last_seen)
            FROM player_stats p JOIN rounds r ON r.id = p.round_id
            WHERE p.guid = (SELECT x.guid FROM players x WHERE x.player_key = player_aliases.player_key)
                AND p.player_key = player_aliases.player_key AND lower(trim(p.clean_name) COLLATE "C") = player_aliases.alias
                AND r.status IN ('r1', 'paired') AND r.id != old.round_id)
            WHERE player_key IN (SELECT old.player_key) AND (SELECT played_at FROM rounds WHERE id = old.round_id) IN (first_seen, last_seen);
        UPDATE players SET (first_seen, last_seen, name, clean_name) = (
            SELECT min(a.first_seen), max(a.last_seen),
                (SELECT b.name FROM player_aliases b WHERE b.player_key = players.player_key ORDER BY b.last_seen DESC, b.rounds DESC LIMIT 1),
                (SELECT b.clean_name FROM player_aliases b WHERE b.player_key = players.player_key ORDER BY b.last_seen DESC, b.rounds DESC LIMIT 1)
            FROM player_aliases a WHERE a.player_key = players.player_key)
            WHERE player_key IN (SELECT old.player_key) AND (SELECT played_at FROM rounds WHERE id = old.round_id) IN (first_seen, last_seen);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER player_stats_remove AFTER DELETE ON player_stats
FOR EACH ROW EXECUTE FUNCTION player_stats_remove();

CREATE FUNCTION weapon_stats_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT status FROM rounds WHERE id = new.round_id) IN ('r1', 'paired') THEN
        INSERT INTO player_weapons(player_key, weapon, rounds, kills, deaths, hits, shots, headshots)
            SELECT new.player_key, new.weapon, 1, new.kills, new.deaths, new.hits, new.shots, new.headshots FROM rounds r WHERE r.id = new.round_id AND r.status IN ('r1', 'paired')
            ON CONFLICT(player_key, weapon) DO UPDATE SET rounds = player_weapons.rounds + excluded.rounds, kills = player_weapons.kills + excluded.kills, deaths = player_weapons.deaths + excluded.deaths, hits = player_weapons.hits + excluded.hits, shots = player_weapons.shots + excluded.shots, headshots = player_weapons.headshots + excluded.headshots;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER weapon_stats_add AFTER INSERT ON weapon_stats
FOR EACH ROW EXECUTE FUNCTION weapon_stats_add();

CREATE FUNCTION weapon_stats_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT status FROM rounds WHERE id = old.round_id) IN ('r1', 'paired') THEN
        INSERT INTO player_weapons(player_key, weapon, rounds, kills, deaths, hits, shots, headshots)
            SELECT old.player_key, old.weapon, -1, -old.kills, -old.deaths, -old.hits, -old.shots, -old.headshots FROM rounds r WHERE r.id = old.round_id AND r.status IN ('r1', 'paired')
            ON CONFLICT(player_key, weapon) DO UPDATE SET rounds = player_weapons.rounds + excluded.rounds, kills = player_weapons.kills + excluded.kills, deaths = player_weapons.deaths + excluded.deaths, hits = player_weapons.hits + excluded.hits, shots = player_weapons.shots + excluded.shots, headshots = player_weapons.headshots + excluded.headshots;
        DELETE FROM player_weapons WHERE rounds <= 0 AND player_key = old.player_key;
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER weapon_stats_remove AFTER DELETE ON weapon_stats
FOR EACH ROW EXECUTE FUNCTION weapon_stats_remove();

-- A round that starts counting (a round 2 paired with its round 1) adds all its rows.
CREATE FUNCTION rounds_count_on() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO players(player_key, guid, name, clean_name, is_bot, first_seen, last_seen, rounds, kills, deaths, damage_given, damage_received, time_played_min, shots, hits, headshot_kills, gibs, revives_given, times_revived, objectives, dynamites, multikills, xp, kill_assists, team_kills, self_kills)
        SELECT p.player_key, p.guid, p.name, p.clean_name, (p.guid = 'OMNIBOT0')::int, r.played_at, r.played_at, 1, (p.kills), (p.deaths), (coalesce(p.damage_given, 0)), (coalesce(p.damage_received, 0)), (coalesce(p.time_played_min, 0)), (p.shots), (p.hits), (coalesce(p.headshot_kills, 0)), (coalesce(p.gibs, 0)), (coalesce(p.revives_given, 0)), (coalesce(p.times_revived, 0)), (coalesce(p.objectives_stolen, 0) + coalesce(p.objectives_returned, 0)), (coalesce(p.dynamites_planted, 0) + coalesce(p.dynamites_defused, 0)), (coalesce(p.multikill_3, 0) + coalesce(p.multikill_4, 0) + coalesce(p.multikill_5, 0) + coalesce(p.multikill_6, 0)), (coalesce(p.xp, 0)), (coalesce(p.kill_assists, 0)), (coalesce(p.team_kills, 0)), (coalesce(p.self_kills, 0)) FROM player_stats p JOIN rounds r ON r.id = p.round_id WHERE p.round_id = new.id
        ON CONFLICT(player_key) DO UPDATE SET rounds = players.rounds + excluded.rounds, kills = players.kills + excluded.kills, deaths = players.deaths + excluded.deaths, damage_given = players.damage_given + excluded.damage_given, damage_received = players.damage_received + excluded.damage_received, time_played_min = players.time_played_min + excluded.time_played_min, shots = players.shots + excluded.shots, hits = players.hits + excluded.hits, headshot_kills = players.headshot_kills + excluded.headshot_kills, gibs = players.gibs + excluded.gibs, revives_given = players.revives_given + excluded.revives_given, times_revived = players.times_revived + excluded.times_revived, objectives = players.objectives + excluded.objectives, dynamites = players.dynamites + excluded.dynamites, multikills = players.multikills + excluded.multikills, xp = players.xp + excluded.xp, kill_assists = players.kill_assists + excluded.kill_assists, team_kills = players.team_kills + excluded.team_kills, self_kills = players.self_kills + excluded.self_kills,
            first_seen = LEAST(players.first_seen, excluded.first_seen), last_seen = GREATEST(players.last_seen, excluded.last_seen),
            name = CASE WHEN excluded.last_seen >= players.last_seen THEN excluded.name ELSE players.name END,
            clean_name = CASE WHEN excluded.last_seen >= players.last_seen THEN excluded.clean_name ELSE players.clean_name END;
    INSERT INTO player_aliases(player_key, alias, name, clean_name, first_seen, last_seen, rounds)
        SELECT p.player_key, lower(trim(p.clean_name) COLLATE "C"), p.name, p.clean_name, r.played_at, r.played_at, 1 FROM player_stats p JOIN rounds r ON r.id = p.round_id WHERE p.round_id = new.id
        ON CONFLICT(player_key, alias) DO UPDATE SET rounds = player_aliases.rounds + 1,
            first_seen = LEAST(player_aliases.first_seen, excluded.first_seen), last_seen = GREATEST(player_aliases.last_seen, excluded.last_seen),
            name = CASE WHEN excluded.last_seen >= player_aliases.last_seen THEN excluded.name ELSE player_aliases.name END,
            clean_name = CASE WHEN excluded.last_seen >= player_aliases.last_seen THEN excluded.clean_name ELSE player_aliases.clean_name END;
    INSERT INTO player_days(day, player_key, rounds, kills, deaths, damage_given, damage_received, time_played_min, shots, hits, headshot_kills, gibs, revives_given, times_revived, objectives, dynamites, multikills, xp, kill_assists, team_kills, self_kills)
        SELECT substr(r.played_at, 1, 10), p.player_key, 1, (p.kills), (p.deaths), (coalesce(p.damage_given, 0)), (coalesce(p.damage_received, 0)), (coalesce(p.time_played_min, 0)), (p.shots), (p.hits), (coalesce(p.headshot_kills, 0)), (coalesce(p.gibs, 0)), (coalesce(p.revives_given, 0)), (coalesce(p.times_revived, 0)), (coalesce(p.objectives_stolen, 0) + coalesce(p.objectives_returned, 0)), (coalesce(p.dynamites_planted, 0) + coalesce(p.dynamites_defused, 0)), (coalesce(p.multikill_3, 0) + coalesce(p.multikill_4, 0) + coalesce(p.multikill_5, 0) + coalesce(p.multikill_6, 0)), (coalesce(p.xp, 0)), (coalesce(p.kill_assists, 0)), (coalesce(p.team_kills, 0)), (coalesce(p.self_kills, 0)) FROM player_stats p JOIN rounds r ON r.id = p.round_id WHERE p.round_id = new.id
        ON CONFLICT(day, player_key) DO UPDATE SET rounds = player_days.rounds + excluded.rounds, kills = player_days.kills + excluded.kills, deaths = player_days.deaths + excluded.deaths, damage_given = player_days.damage_given + excluded.damage_given, damage_received = player_days.damage_received + excluded.damage_received, time_played_min = player_days.time_played_min + excluded.time_played_min, shots = player_days.shots + excluded.shots, hits = player_days.hits + excluded.hits, headshot_kills = player_days.headshot_kills + excluded.headshot_kills, gibs = player_days.gibs + excluded.gibs, revives_given = player_days.revives_given + excluded.revives_given, times_revived = player_days.times_revived + excluded.times_revived, objectives = player_days.objectives + excluded.objectives, dynamites = player_days.dynamites + excluded.dynamites, multikills = player_days.multikills + excluded.multikills, xp = player_days.xp + excluded.xp, kill_assists = player_days.kill_assists + excluded.kill_assists, team_kills = player_days.team_kills + excluded.team_kills, self_kills = player_days.self_kills + excluded.self_kills;
    INSERT INTO player_maps(map, player_key, rounds, kills, deaths, damage_given, damage_received, time_played_min, shots, hits, headshot_kills, gibs, revives_given, times_revived, objectives, dynamites, multikills, xp, kill_assists, team_kills, self_kills)
        SELECT r.map, p.player_key, 1, (p.kills), (p.deaths), (coalesce(p.damage_given, 0)), (coalesce(p.damage_received, 0)), (coalesce(p.time_played_min, 0)), (p.shots), (p.hits), (coalesce(p.headshot_kills, 0)), (coalesce(p.gibs, 0)), (coalesce(p.revives_given, 0)), (coalesce(p.times_revived, 0)), (coalesce(p.objectives_stolen, 0) + coalesce(p.objectives_returned, 0)), (coalesce(p.dynamites_planted, 0) + coalesce(p.dynamites_defused, 0)), (coalesce(p.multikill_3, 0) + coalesce(p.multikill_4, 0) + coalesce(p.multikill_5, 0) + coalesce(p.multikill_6, 0)), (coalesce(p.xp, 0)), (coalesce(p.kill_assists, 0)), (coalesce(p.team_kills, 0)), (coalesce(p.self_kills, 0)) FROM player_stats p JOIN rounds r ON r.id = p.round_id WHERE p.round_id = new.id
        ON CONFLICT(map, player_key) DO UPDATE SET rounds = player_maps.rounds + excluded.rounds, kills = player_maps.kills + excluded.kills, deaths = player_maps.deaths + excluded.deaths, damage_given = player_maps.damage_given + excluded.damage_given, damage_received = player_maps.damage_received + excluded.damage_received, time_played_min = player_maps.time_played_min + excluded.time_played_min, shots = player_maps.shots + excluded.shots, hits = player_maps.hits + excluded.hits, headshot_kills = player_maps.headshot_kills + excluded.headshot_kills, gibs = player_maps.gibs + excluded.gibs, revives_given = player_maps.revives_given + excluded.revives_given, times_revived = player_maps.times_revived + excluded.times_revived, objectives = player_maps.objectives + excluded.objectives, dynamites = player_maps.dynamites + excluded.dynamites, multikills = player_maps.multikills + excluded.multikills, xp = player_maps.xp + excluded.xp, kill_assists = player_maps.kill_assists + excluded.kill_assists, team_kills = player_maps.team_kills + excluded.team_kills, self_kills = player_maps.self_kills + excluded.self_kills;
    INSERT INTO player_weapons(player_key, weapon, rounds, kills, deaths, hits, shots, headshots)
        SELECT w.player_key, w.weapon, 1, w.kills, w.deaths, w.hits, w.shots, w.headshots FROM weapon_stats w WHERE w.round_id = new.id
        ON CONFLICT(player_key, weapon) DO UPDATE SET rounds = player_weapons.rounds + excluded.rounds, kills = player_weapons.kills + excluded.kills, deaths = player_weapons.deaths + excluded.deaths, hits = player_weapons.hits + excluded.hits, shots = player_weapons.shots + excluded.shots, headshots = player_weapons.headshots + excluded.headshots;
    RETURN NULL;
END;
$$;
CREATE TRIGGER rounds_count_on AFTER UPDATE OF status ON rounds
FOR EACH ROW
WHEN (old.status NOT IN ('r1', 'paired') AND new.status IN ('r1', 'paired')) EXECUTE FUNCTION rounds_count_on();

-- A round that stops counting (un-paired, orphaned) subtracts all its rows.
CREATE FUNCTION rounds_count_off() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE players SET (rounds, kills, deaths, damage_given, damage_received, time_played_min, shots, hits, headshot_kills, gibs, revives_given, times_revived, objectives, dynamites, multikills, xp, kill_assists, team_kills, self_kills) = (
        SELECT players.rounds - 1, players.kills - (p.kills), players.deaths - (p.deaths), players.damage_given - (coalesce(p.damage_given, 0)), players.damage_received - (coalesce(p.damage_received, 0)), players.time_played_min - (coalesce(p.time_played_min, 0)), players.shots - (p.shots), players.hits - (p.hits), players.headshot_kills - (coalesce(p.headshot_kills, 0)), players.gibs - (coalesce(p.gibs, 0)), players.revives_given - (coalesce(p.revives_given, 0)), players.times_revived - (coalesce(p.times_revived, 0)), players.objectives - (coalesce(p.objectives_stolen, 0) + coalesce(p.objectives_returned, 0)), players.dynamites - (coalesce(p.dynamites_planted, 0) + coalesce(p.dynamites_defused, 0)), players.multikills - (coalesce(p.multikill_3, 0) + coalesce(p.multikill_4, 0) + coalesce(p.multikill_5, 0) + coalesce(p.multikill_6, 0)), players.xp - (coalesce(p.xp, 0)), players.kill_assists - (coalesce(p.kill_assists, 0)), players.team_kills - (coalesce(p.team_kills, 0)), players.self_kills - (coalesce(p.self_kills, 0)) FROM player_stats p WHERE p.round_id = new.id AND p.player_key = players.player_key)
        WHERE player_key IN (SELECT player_key FROM player_stats WHERE round_id = new.id);
    UPDATE player_aliases SET rounds = rounds - 1
        WHERE (player_key, alias) IN (SELECT player_key, lower(trim(clean_name) COLLATE "C") FROM player_stats WHERE round_id = new.id);
    INSERT INTO player_days(day, player_key, rounds, kills, deaths, damage_given, damage_received, time_played_min, shots, hits, headshot_kills, gibs, revives_given, times_revived, objectives, dynamites, multikills, xp, kill_assists, team_kills, self_kills)
        SELECT substr(r.played_at, 1, 10), p.player_key, -1, -(p.kills), -(p.deaths), -(coalesce(p.damage_given, 0)), -(coalesce(p.damage_received, 0)), -(coalesce(p.time_played_min, 0)), -(p.shots), -(p.hits), -(coalesce(p.headshot_kills, 0)), -(coalesce(p.gibs, 0)), -(coalesce(p.revives_given, 0)), -(coalesce(p.times_revived, 0)), -(coalesce(p.objectives_stolen, 0) + coalesce(p.objectives_returned, 0)), -(coalesce(p.dynamites_planted, 0) + coalesce(p.dynamites_defused, 0)), -(coalesce(p.multikill_3, 0) + coalesce(p.multikill_4, 0) + coalesce(p.multikill_5, 0) + coalesce(p.multikill_6, 0)), -(coalesce(p.xp, 0)), -(coalesce(p.kill_assists, 0)), -(coalesce(p.team_kills, 0)), -(coalesce(p.self_kills, 0)) FROM player_stats p JOIN rounds r ON r.id = p.round_id WHERE p.round_id = new.id
        ON CONFLICT(day, player_key) DO UPDATE SET rounds = player_days.rounds + excluded.rounds, kills = player_days.kills + excluded.kills, deaths = player_days.deaths + excluded.deaths, damage_given = player_days.damage_given + excluded.damage_given, damage_received = player_days.damage_received + excluded.damage_received, time_played_min = player_days.time_played_min + excluded.time_played_min, shots = player_days.shots + excluded.shots, hits = player_days.hits + excluded.hits, headshot_kills = player_days.headshot_kills + excluded.headshot_kills, gibs = player_days.gibs + excluded.gibs, revives_given = player_days.revives_given + excluded.revives_given, times_revived = player_days.times_revived + excluded.times_revived, objectives = player_days.objectives + excluded.objectives, dynamites = player_days.dynamites + excluded.dynamites, multikills = player_days.multikills + excluded.multikills, xp = player_days.xp + excluded.xp, kill_assists = player_days.kill_assists + excluded.kill_assists, team_kills = player_days.team_kills + excluded.team_kills, self_kills = player_days.self_kills + excluded.self_kills;
    INSERT INTO player_maps(map, player_key, rounds, kills, deaths, damage_given, damage_received, time_played_min, shots, hits, headshot_kills, gibs, revives_given, times_revived, objectives, dynamites, multikills, xp, kill_assists, team_kills, self_kills)
        SELECT r.map, p.player_key, -1, -(p.kills), -(p.deaths), -(coalesce(p.damage_given, 0)), -(coalesce(p.damage_received, 0)), -(coalesce(p.time_played_min, 0)), -(p.shots), -(p.hits), -(coalesce(p.headshot_kills, 0)), -(coalesce(p.gibs, 0)), -(coalesce(p.revives_given, 0)), -(coalesce(p.times_revived, 0)), -(coalesce(p.objectives_stolen, 0) + coalesce(p.objectives_returned, 0)), -(coalesce(p.dynamites_planted, 0) + coalesce(p.dynamites_defused, 0)), -(coalesce(p.multikill_3, 0) + coalesce(p.multikill_4, 0) + coalesce(p.multikill_5, 0) + coalesce(p.multikill_6, 0)), -(coalesce(p.xp, 0)), -(coalesce(p.kill_assists, 0)), -(coalesce(p.team_kills, 0)), -(coalesce(p.self_kills, 0)) FROM player_stats p JOIN rounds r ON r.id = p.round_id WHERE p.round_id = new.id
        ON CONFLICT(map, player_key) DO UPDATE SET rounds = player_maps.rounds + excluded.rounds, kills = player_maps.kills + excluded.kills, deaths = player_maps.deaths + excluded.deaths, damage_given = player_maps.damage_given + excluded.damage_given, damage_received = player_maps.damage_received + excluded.damage_received, time_played_min = player_maps.time_played_min + excluded.time_played_min, shots = player_maps.shots + excluded.shots, hits = player_maps.hits + excluded.hits, headshot_kills = player_maps.headshot_kills + excluded.headshot_kills, gibs = player_maps.gibs + excluded.gibs, revives_given = player_maps.revives_given + excluded.revives_given, times_revived = player_maps.times_revived + excluded.times_revived, objectives = player_maps.objectives + excluded.objectives, dynamites = player_maps.dynamites + excluded.dynamites, multikills = player_maps.multikills + excluded.multikills, xp = player_maps.xp + excluded.xp, kill_assists = player_maps.kill_assists + excluded.kill_assists, team_kills = player_maps.team_kills + excluded.team_kills, self_kills = player_maps.self_kills + excluded.self_kills;
    INSERT INTO player_weapons(player_key, weapon, rounds, kills, deaths, hits, shots, headshots)
        SELECT w.player_key, w.weapon, -1, -w.kills, -w.deaths, -w.hits, -w.shots, -w.headshots FROM weapon_stats w WHERE w.round_id = new.id
        ON CONFLICT(player_key, weapon) DO UPDATE SET rounds = player_weapons.rounds + excluded.rounds, kills = player_weapons.kills + excluded.kills, deaths = player_weapons.deaths + excluded.deaths, hits = player_weapons.hits + excluded.hits, shots = player_weapons.shots + excluded.shots, headshots = player_weapons.headshots + excluded.headshots;
    DELETE FROM players WHERE rounds <= 0 AND player_key IN (SELECT player_key FROM player_stats WHERE round_id = new.id);
    DELETE FROM player_aliases WHERE rounds <= 0 AND player_key IN (SELECT player_key FROM player_stats WHERE round_id = new.id);
    DELETE FROM player_days WHERE rounds <= 0 AND player_key IN (SELECT player_key FROM player_stats WHERE round_id = new.id);
    DELETE FROM player_maps WHERE rounds <= 0 AND player_key IN (SELECT player_key FROM player_stats WHERE round_id = new.id);
    UPDATE player_aliases SET (first_seen, last_seen) = (
        SELECT coalesce(min(r.played_at), player_aliases.first_seen), coalesce(max(r.played_at), player_aliases.last_seen)
        FROM player_stats p JOIN rounds r ON r.id = p.round_id
        WHERE p.guid = (SELECT x.guid FROM players x WHERE x.player_key = player_aliases.player_key)
            AND p.player_key = player_aliases.player_key AND lower(trim(p.clean_name) COLLATE "C") = player_aliases.alias
            AND r.status IN ('r1', 'paired') AND r.id != new.id)
        WHERE player_key IN (SELECT player_key FROM player_stats WHERE round_id = new.id) AND new.played_at IN (first_seen, last_seen);
    UPDATE players SET (first_seen, last_seen, name, clean_name) = (
        SELECT min(a.first_seen), max(a.last_seen),
            (SELECT b.name FROM player_aliases b WHERE b.player_key = players.player_key ORDER BY b.last_seen DESC, b.rounds DESC LIMIT 1),
            (SELECT b.clean_name FROM player_aliases b WHERE b.player_key = players.player_key ORDER BY b.last_seen DESC, b.rounds DESC LIMIT 1)
        FROM player_aliases a WHERE a.player_key = players.player_key)
        WHERE player_key IN (SELECT player_key FROM player_stats WHERE round_id = new.id) AND new.played_at IN (first_seen, last_seen);
    DELETE FROM player_weapons WHERE rounds <= 0 AND player_key IN (SELECT player_key FROM player_stats WHERE round_id = new.id);
    RETURN NULL;
END;
$$;
CREATE TRIGGER rounds_count_off AFTER UPDATE OF status ON rounds
FOR EACH ROW
WHEN (old.status IN ('r1', 'paired') AND new.status NOT IN ('r1', 'paired')) EXECUTE FUNCTION rounds_count_off();

-- A counted round about to be deleted subtracts its rows (the cascade that follows finds no round).
CREATE FUNCTION rounds_delete_counted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE players SET (rounds, kills, deaths, damage_given, damage_received, time_played_min, shots, hits, headshot_kills, gibs, revives_given, times_revived, objectives, dynamites, multikills, xp, kill_assists, team_kills, self_kills) = (
        SELECT players.rounds - 1, players.kills - (p.kills), players.deaths - (p.deaths), players.damage_given - (coalesce(p.damage_given, 0)), players.damage_received - (coalesce(p.damage_received, 0)), players.time_played_min - (coalesce(p.time_played_min, 0)), players.shots - (p.shots), players.hits - (p.hits), players.headshot_kills - (coalesce(p.headshot_kills, 0)), players.gibs - (coalesce(p.gibs, 0)), players.revives_given - (coalesce(p.revives_given, 0)), players.times_revived - (coalesce(p.times_revived, 0)), players.objectives - (coalesce(p.objectives_stolen, 0) + coalesce(p.objectives_returned, 0)), players.dynamites - (coalesce(p.dynamites_planted, 0) + coalesce(p.dynamites_defused, 0)), players.multikills - (coalesce(p.multikill_3, 0) + coalesce(p.multikill_4, 0) + coalesce(p.multikill_5, 0) + coalesce(p.multikill_6, 0)), players.xp - (coalesce(p.xp, 0)), players.kill_assists - (coalesce(p.kill_assists, 0)), players.team_kills - (coalesce(p.team_kills, 0)), players.self_kills - (coalesce(p.self_kills, 0)) FROM player_stats p WHERE p.round_id = old.id AND p.player_key = players.player_key)
        WHERE player_key IN (SELECT player_key FROM player_stats WHERE round_id = old.id);
    UPDATE player_aliases SET rounds = rounds - 1
        WHERE (player_key, alias) IN (SELECT player_key, lower(trim(clean_name) COLLATE "C") FROM player_stats WHERE round_id = old.id);
    INSERT INTO player_days(day, player_key, rounds, kills, deaths, damage_given, damage_received, time_played_min, shots, hits, headshot_kills, gibs, revives_given, times_revived, objectives, dynamites, multikills, xp, kill_assists, team_kills, self_kills)
        SELECT substr(r.played_at, 1, 10), p.player_key, -1, -(p.kills), -(p.deaths), -(coalesce(p.damage_given, 0)), -(coalesce(p.damage_received, 0)), -(coalesce(p.time_played_min, 0)), -(p.shots), -(p.hits), -(coalesce(p.headshot_kills, 0)), -(coalesce(p.gibs, 0)), -(coalesce(p.revives_given, 0)), -(coalesce(p.times_revived, 0)), -(coalesce(p.objectives_stolen, 0) + coalesce(p.objectives_returned, 0)), -(coalesce(p.dynamites_planted, 0) + coalesce(p.dynamites_defused, 0)), -(coalesce(p.multikill_3, 0) + coalesce(p.multikill_4, 0) + coalesce(p.multikill_5, 0) + coalesce(p.multikill_6, 0)), -(coalesce(p.xp, 0)), -(coalesce(p.kill_assists, 0)), -(coalesce(p.team_kills, 0)), -(coalesce(p.self_kills, 0)) FROM player_stats p JOIN rounds r ON r.id = p.round_id WHERE p.round_id = old.id
        ON CONFLICT(day, player_key) DO UPDATE SET rounds = player_days.rounds + excluded.rounds, kills = player_days.kills + excluded.kills, deaths = player_days.deaths + excluded.deaths, damage_given = player_days.damage_given + excluded.damage_given, damage_received = player_days.damage_received + excluded.damage_received, time_played_min = player_days.time_played_min + excluded.time_played_min, shots = player_days.shots + excluded.shots, hits = player_days.hits + excluded.hits, headshot_kills = player_days.headshot_kills + excluded.headshot_kills, gibs = player_days.gibs + excluded.gibs, revives_given = player_days.revives_given + excluded.revives_given, times_revived = player_days.times_revived + excluded.times_revived, objectives = player_days.objectives + excluded.objectives, dynamites = player_days.dynamites + excluded.dynamites, multikills = player_days.multikills + excluded.multikills, xp = player_days.xp + excluded.xp, kill_assists = player_days.kill_assists + excluded.kill_assists, team_kills = player_days.team_kills + excluded.team_kills, self_kills = player_days.self_kills + excluded.self_kills;
    INSERT INTO player_maps(map, player_key, rounds, kills, deaths, damage_given, damage_received, time_played_min, shots, hits, headshot_kills, gibs, revives_given, times_revived, objectives, dynamites, multikills, xp, kill_assists, team_kills, self_kills)
        SELECT r.map, p.player_key, -1, -(p.kills), -(p.deaths), -(coalesce(p.damage_given, 0)), -(coalesce(p.damage_received, 0)), -(coalesce(p.time_played_min, 0)), -(p.shots), -(p.hits), -(coalesce(p.headshot_kills, 0)), -(coalesce(p.gibs, 0)), -(coalesce(p.revives_given, 0)), -(coalesce(p.times_revived, 0)), -(coalesce(p.objectives_stolen, 0) + coalesce(p.objectives_returned, 0)), -(coalesce(p.dynamites_planted, 0) + coalesce(p.dynamites_defused, 0)), -(coalesce(p.multikill_3, 0) + coalesce(p.multikill_4, 0) + coalesce(p.multikill_5, 0) + coalesce(p.multikill_6, 0)), -(coalesce(p.xp, 0)), -(coalesce(p.kill_assists, 0)), -(coalesce(p.team_kills, 0)), -(coalesce(p.self_kills, 0)) FROM player_stats p JOIN rounds r ON r.id = p.round_id WHERE p.round_id = old.id
        ON CONFLICT(map, player_key) DO UPDATE SET rounds = player_maps.rounds + excluded.rounds, kills = player_maps.kills + excluded.kills, deaths = player_maps.deaths + excluded.deaths, damage_given = player_maps.damage_given + excluded.damage_given, damage_received = player_maps.damage_received + excluded.damage_received, time_played_min = player_maps.time_played_min + excluded.time_played_min, shots = player_maps.shots + excluded.shots, hits = player_maps.hits + excluded.hits, headshot_kills = player_maps.headshot_kills + excluded.headshot_kills, gibs = player_maps.gibs + excluded.gibs, revives_given = player_maps.revives_given + excluded.revives_given, times_revived = player_maps.times_revived + excluded.times_revived, objectives = player_maps.objectives + excluded.objectives, dynamites = player_maps.dynamites + excluded.dynamites, multikills = player_maps.multikills + excluded.multikills, xp = player_maps.xp + excluded.xp, kill_assists = player_maps.kill_assists + excluded.kill_assists, team_kills = player_maps.team_kills + excluded.team_kills, self_kills = player_maps.self_kills + excluded.self_kills;
    INSERT INTO player_weapons(player_key, weapon, rounds, kills, deaths, hits, shots, headshots)
        SELECT w.player_key, w.weapon, -1, -w.kills, -w.deaths, -w.hits, -w.shots, -w.headshots FROM weapon_stats w WHERE w.round_id = old.id
        ON CONFLICT(player_key, weapon) DO UPDATE SET rounds = player_weapons.rounds + excluded.rounds, kills = player_weapons.kills + excluded.kills, deaths = player_weapons.deaths + excluded.deaths, hits = player_weapons.hits + excluded.hits, shots = player_weapons.shots + excluded.shots, headshots = player_weapons.headshots + excluded.headshots;
    DELETE FROM players WHERE rounds <= 0 AND player_key IN (SELECT player_key FROM player_stats WHERE round_id = old.id);
    DELETE FROM player_aliases WHERE rounds <= 0 AND player_key IN (SELECT player_key FROM player_stats WHERE round_id = old.id);
    DELETE FROM player_days WHERE rounds <= 0 AND player_key IN (SELECT player_key FROM player_stats WHERE round_id = old.id);
    DELETE FROM player_maps WHERE rounds <= 0 AND player_key IN (SELECT player_key FROM player_stats WHERE round_id = old.id);
    UPDATE player_aliases SET (first_seen, last_seen) = (
        SELECT coalesce(min(r.played_at), player_aliases.first_seen), coalesce(max(r.played_at), player_aliases.last_seen)
        FROM player_stats p JOIN rounds r ON r.id = p.round_id
        WHERE p.guid = (SELECT x.guid FROM players x WHERE x.player_key = player_aliases.player_key)
            AND p.player_key = player_aliases.player_key AND lower(trim(p.clean_name) COLLATE "C") = player_aliases.alias
            AND r.status IN ('r1', 'paired') AND r.id != old.id)
        WHERE player_key IN (SELECT player_key FROM player_stats WHERE round_id = old.id) AND old.played_at IN (first_seen, last_seen);
    UPDATE players SET (first_seen, last_seen, name, clean_name) = (
        SELECT min(a.first_seen), max(a.last_seen),
            (SELECT b.name FROM player_aliases b WHERE b.player_key = players.player_key ORDER BY b.last_seen DESC, b.rounds DESC LIMIT 1),
            (SELECT b.clean_name FROM player_aliases b WHERE b.player_key = players.player_key ORDER BY b.last_seen DESC, b.rounds DESC LIMIT 1)
        FROM player_aliases a WHERE a.player_key = players.player_key)
        WHERE player_key IN (SELECT player_key FROM player_stats WHERE round_id = old.id) AND old.played_at IN (first_seen, last_seen);
    DELETE FROM player_weapons WHERE rounds <= 0 AND player_key IN (SELECT player_key FROM player_stats WHERE round_id = old.id);
    UPDATE map_totals SET rounds = rounds - 1, seconds = seconds - coalesce(old.duration_s, 0),
        held = held - ((old.winner = old.defender)::int) WHERE map = old.map;
    DELETE FROM map_totals WHERE map = old.map AND rounds <= 0;
    RETURN OLD;
END;
$$;
CREATE TRIGGER rounds_delete_counted BEFORE DELETE ON rounds
FOR EACH ROW
WHEN (old.status IN ('r1', 'paired')) EXECUTE FUNCTION rounds_delete_counted();

CREATE FUNCTION rounds_map_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO map_totals(map, rounds, seconds, held, last_played)
        VALUES (new.map, 1, coalesce(new.duration_s, 0), (new.winner = new.defender)::int, new.played_at)
        ON CONFLICT(map) DO UPDATE SET rounds = map_totals.rounds + 1, seconds = map_totals.seconds + excluded.seconds,
            held = map_totals.held + excluded.held, last_played = GREATEST(map_totals.last_played, excluded.last_played);
    RETURN NULL;
END;
$$;
CREATE TRIGGER rounds_map_insert AFTER INSERT ON rounds
FOR EACH ROW
WHEN (new.status IN ('r1', 'paired')) EXECUTE FUNCTION rounds_map_insert();

CREATE FUNCTION rounds_map_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE map_totals SET rounds = rounds - 1, seconds = seconds - coalesce(old.duration_s, 0),
        held = held - ((old.winner = old.defender)::int) WHERE map = old.map AND old.status IN ('r1', 'paired');
    INSERT INTO map_totals(map, rounds, seconds, held, last_played)
        SELECT new.map, 1, coalesce(new.duration_s, 0), (new.winner = new.defender)::int, new.played_at
        WHERE new.status IN ('r1', 'paired')
        ON CONFLICT(map) DO UPDATE SET rounds = map_totals.rounds + 1, seconds = map_totals.seconds + excluded.seconds,
            held = map_totals.held + excluded.held, last_played = GREATEST(map_totals.last_played, excluded.last_played);
    DELETE FROM map_totals WHERE map = old.map AND rounds <= 0;
    RETURN NULL;
END;
$$;
CREATE TRIGGER rounds_map_update AFTER UPDATE OF status, duration_s ON rounds
FOR EACH ROW
WHEN (old.status IN ('r1', 'paired') OR new.status IN ('r1', 'paired')) EXECUTE FUNCTION rounds_map_update();
