-- PostgreSQL twin of ../0010_record_notes.sql (same number, name and end state; see bot/db/pg_migrations.py).
-- 0010: personal bests for the "new record / personal best" notes of round posts (bot/db/round_notes.py):
-- a player's best kills / DPM before the new round is the top of his slice of these indexes (the
-- round's status is checked per row, so the walk stops at the first counted round).
CREATE INDEX player_stats_player_kills ON player_stats(player_key, kills);
CREATE INDEX player_stats_player_dpm ON player_stats(player_key, (CAST(damage_given AS DOUBLE PRECISION) / time_played_min))
    WHERE time_played_min >= 5;
