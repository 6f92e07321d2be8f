"""The kept aggregates (migration `players`): their columns, and a check that they equal a recomputation.

Triggers keep `players` (with the all-time sums), `player_aliases`, `player_days`, `player_maps`,
`player_weapons` and `map_totals` equal to sums over the player rows of counted rounds. `drift_sync`
recomputes them from `player_stats`/`weapon_stats`/`rounds` (a full scan: for tests, `db check` and
after a hand edit) and names every table that differs.
"""

from __future__ import annotations

from bot.db.connection import SyncTx, as_async

COUNTED_STATUSES = "('r1', 'paired')"

# Summed per player (and per day, per map): column -> expression over a player_stats row `p`.
AGG_SOURCES: dict[str, str] = {
    "kills": "p.kills",
    "deaths": "p.deaths",
    "damage_given": "coalesce(p.damage_given, 0)",
    "damage_received": "coalesce(p.damage_received, 0)",
    "time_played_min": "coalesce(p.time_played_min, 0)",
    "shots": "p.shots",
    "hits": "p.hits",
    "headshot_kills": "coalesce(p.headshot_kills, 0)",
    "gibs": "coalesce(p.gibs, 0)",
    "revives_given": "coalesce(p.revives_given, 0)",
    "times_revived": "coalesce(p.times_revived, 0)",
    "objectives": "coalesce(p.objectives_stolen, 0) + coalesce(p.objectives_returned, 0)",
    "dynamites": "coalesce(p.dynamites_planted, 0) + coalesce(p.dynamites_defused, 0)",
    "multikills": "coalesce(p.multikill_3, 0) + coalesce(p.multikill_4, 0) + coalesce(p.multikill_5, 0) "
    "+ coalesce(p.multikill_6, 0)",
    "xp": "coalesce(p.xp, 0)",
    "kill_assists": "coalesce(p.kill_assists, 0)",
    "team_kills": "coalesce(p.team_kills, 0)",
    "self_kills": "coalesce(p.self_kills, 0)",
}
AGG_COLUMNS = ("rounds", *AGG_SOURCES)

_ROWS = f"FROM player_stats p JOIN rounds r ON r.id = p.round_id WHERE r.status IN {COUNTED_STATUSES}"
# Real sums are compared rounded to 6 decimals (sums in another order differ in the last bits).
_SUMS = ", ".join(
    [
        "count(*)",
        *(f"round(sum({e}), 6)" if c == "time_played_min" else f"sum({e})" for c, e in AGG_SOURCES.items()),
    ]
)
_COLS = ", ".join("round(time_played_min, 6)" if c == "time_played_min" else c for c in AGG_COLUMNS)

# table -> (stored rows, recomputed rows), same columns in the same order.
_EXPECTED: dict[str, tuple[str, str]] = {
    "players": (
        f"SELECT player_key, guid, is_bot, first_seen, last_seen, {_COLS} FROM players",
        "SELECT p.player_key, min(p.guid), CASE WHEN min(p.guid) = 'OMNIBOT0' THEN 1 ELSE 0 END, "
        "min(r.played_at), max(r.played_at), "
        f"{_SUMS} {_ROWS} GROUP BY p.player_key",
    ),
    "player_aliases": (
        "SELECT player_key, alias, first_seen, last_seen, rounds FROM player_aliases",
        "SELECT p.player_key, lower(trim(p.clean_name)), min(r.played_at), max(r.played_at), count(*) "
        f"{_ROWS} GROUP BY 1, 2",
    ),
    "player_days": (
        f"SELECT day, player_key, {_COLS} FROM player_days",
        f"SELECT substr(r.played_at, 1, 10), p.player_key, {_SUMS} {_ROWS} GROUP BY 1, 2",
    ),
    "player_maps": (
        f"SELECT map, player_key, {_COLS} FROM player_maps",
        f"SELECT r.map, p.player_key, {_SUMS} {_ROWS} GROUP BY 1, 2",
    ),
    "player_weapons": (
        "SELECT player_key, weapon, rounds, kills, deaths, hits, shots, headshots FROM player_weapons",
        "SELECT w.player_key, w.weapon, count(*), sum(w.kills), sum(w.deaths), sum(w.hits), sum(w.shots), "
        "sum(w.headshots) FROM weapon_stats w JOIN rounds r ON r.id = w.round_id "
        f"WHERE r.status IN {COUNTED_STATUSES} GROUP BY 1, 2",
    ),
    "map_totals": (
        "SELECT map, rounds, seconds, held FROM map_totals",
        "SELECT map, count(*), sum(coalesce(duration_s, 0)), sum(winner = defender) FROM rounds "
        f"WHERE status IN {COUNTED_STATUSES} GROUP BY map",
    ),
}
AGGREGATE_TABLES = tuple(_EXPECTED)


def drift_sync(stx: SyncTx) -> dict[str, int]:
    """Per aggregate table that differs from a recomputation: how many rows differ (either side)."""
    drift: dict[str, int] = {}
    for table, (stored, expected) in _EXPECTED.items():
        row = stx.fetchone(
            f"SELECT (SELECT count(*) FROM ({stored} EXCEPT {expected}) AS extra) + "
            f"(SELECT count(*) FROM ({expected} EXCEPT {stored}) AS missing)"
        )
        n = int(row[0]) if row else 0
        if n:
            drift[table] = n
    return drift


drift = as_async(drift_sync)
