"""Per-player numbers from the kept aggregates: totals, form by day, weapons, maps, leaderboards.

Every query reads `players` (all-time sums), `player_days`, `player_maps`, `player_weapons` or `map_totals`
by key or index range; none reads `player_stats` (see bench/chat_queries.py for the figures).
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass

from bot.db.aggregates import AGG_COLUMNS
from bot.db.connection import SyncTx, as_async
from bot.stats.matching import ranked

# Leaderboard metrics: SQL over one aggregate row `t`, decimals shown, and whether it is a ratio
# (ratios need a sensible minimum of rounds, or a 1-round player tops the board).
METRICS: dict[str, tuple[str, int, bool]] = {
    "kills": ("t.kills", 0, False),
    "kd": ("CAST(t.kills AS REAL) / max(t.deaths, 1)", 2, True),
    "damage": ("t.damage_given", 0, False),
    "dpm": ("t.damage_given / nullif(t.time_played_min, 0)", 1, True),
    "accuracy": ("100.0 * t.hits / nullif(t.shots, 0)", 1, True),
    "headshots": ("t.headshot_kills", 0, False),
    "gibs": ("t.gibs", 0, False),
    "revives": ("t.revives_given", 0, False),
    "objectives": ("t.objectives", 0, False),
    "multikills": ("t.multikills", 0, False),
    "xp": ("t.xp", 0, False),
    "rounds": ("t.rounds", 0, False),
    # Maps won of maps decided (won + lost + drawn), from the kept W/L records (migration 0009); its
    # board's "rounds" are maps and its minimum counts maps.
    "winrate": ("100.0 * t.won / nullif(t.maps, 0)", 1, True),
}
RESULT_METRICS = frozenset({"winrate"})
# The win-rate board's default minimum of maps decided in the period.
MAPS_MINIMUM = {"today": 2, "week": 5, "month": 10, "all": 20}
# Ratio boards (K/D, DPM, accuracy) need this many rounds in the period by default: a player with two
# lucky rounds must not top them. Count boards start at 1. An explicit minimum overrides either.
RATIO_MINIMUM = {"today": 3, "week": 10, "month": 20, "all": 100}


def default_minimum(metric: str, period: str) -> int:
    if metric in RESULT_METRICS:
        return MAPS_MINIMUM.get(period, 10)
    return RATIO_MINIMUM.get(period, 20) if METRICS[metric][2] else 1


def unit(metric: str) -> str:
    """What the board's "rounds" column and minimum count."""
    return "map" if metric in RESULT_METRICS else "round"


_SUM_COLUMNS = ", ".join(f"sum({c}) AS {c}" for c in AGG_COLUMNS)
_COLUMNS = ", ".join(AGG_COLUMNS)


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over counted rounds (one player, or one player on one map, or one day)."""

    rounds: int
    kills: int
    deaths: int
    damage_given: int
    damage_received: int
    time_played_min: float
    shots: int
    hits: int
    headshot_kills: int
    gibs: int
    revives_given: int
    times_revived: int
    objectives: int
    dynamites: int
    multikills: int
    xp: int
    kill_assists: int
    team_kills: int
    self_kills: int

    @property
    def kd(self) -> float:
        return self.kills / max(self.deaths, 1)

    @property
    def dpm(self) -> float | None:
        return self.damage_given / self.time_played_min if self.time_played_min else None

    @property
    def accuracy(self) -> float | None:
        return 100.0 * self.hits / self.shots if self.shots else None


def _totals(values: sqlite3.Row | tuple[object, ...]) -> Totals:
    v = list(values)
    return Totals(*(float(x or 0) if i == 5 else int(x or 0) for i, x in enumerate(v)))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class WinLoss:
    """Stopwatch maps won, lost and drawn (maps with no result count for no one)."""

    won: int
    lost: int
    drawn: int

    @property
    def maps(self) -> int:
        return self.won + self.lost + self.drawn

    @property
    def win_rate(self) -> float | None:
        return 100.0 * self.won / self.maps if self.maps else None


@dataclass(frozen=True, slots=True)
class DayLine:
    day: str
    totals: Totals


@dataclass(frozen=True, slots=True)
class MapLine:
    map: str
    totals: Totals


@dataclass(frozen=True, slots=True)
class WeaponLine:
    weapon: str
    kills: int
    deaths: int
    hits: int
    shots: int
    headshots: int

    @property
    def accuracy(self) -> float | None:
        return 100.0 * self.hits / self.shots if self.shots else None


@dataclass(frozen=True, slots=True)
class BoardRow:
    rank: int
    key: str
    name: str
    rounds: int
    value: float | None


@dataclass(frozen=True, slots=True)
class Board:
    rows: list[BoardRow]  # the page asked for
    qualifying: int  # players on the whole board
    own: BoardRow | None  # the asking member's line, when they qualify


def totals_sync(stx: SyncTx, key: str, *, since_day: str | None = None) -> Totals | None:
    """A player's sums: all time from `players`, a period from `player_days` (index range)."""
    if since_day is None:
        r = stx.fetchone(f"SELECT {_COLUMNS} FROM players WHERE player_key = ?", (key,))
    else:
        r = stx.fetchone(
            f"SELECT {_SUM_COLUMNS} FROM player_days INDEXED BY player_days_player "
            "WHERE player_key = ? AND day >= ?",
            (key, since_day),
        )
    return None if r is None or not r[0] else _totals(r)


def win_loss_sync(stx: SyncTx, key: str, *, since_day: str | None = None) -> WinLoss | None:
    """A player's W/L over the derived sessions: all time one key lookup, a period a key range."""
    if since_day is None:
        r = stx.fetchone("SELECT won, lost, drawn FROM player_results WHERE player_key = ?", (key,))
    else:
        r = stx.fetchone(
            "SELECT sum(won), sum(lost), sum(drawn) FROM player_day_results "
            "INDEXED BY player_day_results_player WHERE player_key = ? AND day >= ?",
            (key, since_day),
        )
    if r is None or r[0] is None:
        return None
    record = WinLoss(int(r[0]), int(r[1]), int(r[2]))
    return record if record.maps else None


def days_sync(stx: SyncTx, key: str, *, limit: int = 30) -> list[DayLine]:
    """The player's last `limit` days with rounds, oldest first (the form chart)."""
    rows = stx.fetchall(
        f"SELECT day, {_COLUMNS} FROM player_days WHERE player_key = ? ORDER BY day DESC LIMIT ?",
        (key, limit),
    )
    return [DayLine(str(r[0]), _totals(tuple(r)[1:])) for r in reversed(rows)]


def maps_sync(stx: SyncTx, key: str) -> list[MapLine]:
    """The player's maps, most played first."""
    rows = stx.fetchall(
        f"SELECT map, {_COLUMNS} FROM player_maps INDEXED BY player_maps_player WHERE player_key = ? "
        "ORDER BY rounds DESC, map",
        (key,),
    )
    return [MapLine(str(r[0]), _totals(tuple(r)[1:])) for r in rows]


def weapons_sync(stx: SyncTx, key: str, *, limit: int = 5) -> list[WeaponLine]:
    rows = stx.fetchall(
        "SELECT weapon, kills, deaths, hits, shots, headshots FROM player_weapons WHERE player_key = ? "
        "ORDER BY kills DESC, weapon LIMIT ?",
        (key, limit),
    )
    return [WeaponLine(str(r[0]), *(int(x) for x in tuple(r)[1:])) for r in rows]


def board_sync(
    stx: SyncTx,
    metric: str,
    *,
    since_day: str | None = None,
    min_rounds: int = 1,
    offset: int = 0,
    limit: int = 10,
    own_key: str | None = None,
    map_name: str | None = None,
) -> Board:
    """One page of a leaderboard, how many qualify, and `own_key`'s line ("your rank").

    All time reads `players` (one row per player, the sums kept in it); a period sums `player_days` from
    its first day (a primary-key range); `map_name` reads `player_maps` of that map (a primary-key range).
    The unary `+` keeps SQLite's planner off the secondary indexes (a skip-scan plus a lookup per row,
    which ANALYZE statistics can make it pick): these are sequential range scans by design.
    Ranks are computed over the aggregate rows alone; names are joined for the lines shown only. Bots
    (keys 'OMNIBOT0:…') are left out.
    """
    expr = METRICS[metric][0]
    if metric in RESULT_METRICS:
        if map_name is not None:
            raise ValueError(f"the {metric} board has no per-map version")
        if since_day is None:
            source, params = "(SELECT player_key, maps AS rounds, won, maps FROM player_results) t WHERE", []
        else:
            days = (
                "SELECT player_key, sum(maps) AS rounds, sum(won) AS won, sum(maps) AS maps "
                "FROM player_day_results WHERE day >= ? GROUP BY +player_key"
            )
            source, params = f"({days}) t WHERE", [since_day]
    elif map_name is not None:
        source, params = "player_maps t WHERE t.map = ? AND", [map_name]
    elif since_day is None:
        source, params = "players t WHERE", []
    else:
        # Only the columns the metric reads: GROUP BY sorts whole rows (19 sums: 50 ms, 2-3 sums: 5 ms).
        needed = sorted({"rounds", *re.findall(r"\bt\.(\w+)", expr)})
        sums = ", ".join(f"sum({c}) AS {c}" for c in needed)
        days = f"SELECT player_key, {sums} FROM player_days WHERE day >= ? GROUP BY +player_key"
        source = f"({days}) t WHERE"
        params = [since_day]
    qualifying = (
        f"SELECT * FROM (SELECT t.player_key, t.rounds, {expr} AS value FROM {source} +t.rounds >= ? "
        "AND t.player_key NOT LIKE 'OMNIBOT0:%') AS scored WHERE value IS NOT NULL"
    )
    base = [*params, min_rounds]
    if since_day is not None or map_name is not None:
        return _board_of_rows(stx, qualifying, base, offset, limit, own_key)
    # All time: three small statements instead of one window function. A top-N sort keeps `limit` rows
    # where row_number() OVER (...) sorts every player (1M-row bench: 1.1 + 0.6 + 0.7 ms against 17 ms).
    rows = stx.fetchall(
        f"SELECT q.player_key, p.clean_name, q.rounds, q.value FROM ({qualifying} "
        "ORDER BY value DESC, rounds DESC, player_key LIMIT ? OFFSET ?) q "
        "JOIN players p ON p.player_key = q.player_key ORDER BY q.value DESC, q.rounds DESC, q.player_key",
        [*base, limit, offset],
    )
    page = [BoardRow(offset + i, str(r[0]), str(r[1]), int(r[2]), r[3]) for i, r in enumerate(rows, 1)]
    total = stx.fetchone(f"SELECT count(*) FROM ({qualifying}) AS q", base)
    return Board(page, int(total[0]) if total else 0, _own_line(stx, qualifying, base, own_key, page))


def _board_of_rows(
    stx: SyncTx, qualifying: str, base: list[object], offset: int, limit: int, own_key: str | None
) -> Board:
    """A period or map board: the grouped rows are read ONCE (a range scan) and ranked here; the
    three-statement way would sum the days three times."""
    order = ranked((str(r[0]), int(r[1]), r[2]) for r in stx.fetchall(qualifying, base))
    shown = order[offset : offset + limit]
    own = next((line for line in order if line[1] == own_key), None) if own_key else None
    wanted = [line[1] for line in shown] + ([own[1]] if own else [])
    names = _names(stx, wanted)
    page = [BoardRow(rank, key, names.get(key, key), rounds, value) for rank, key, rounds, value in shown]
    own_line = None if own is None else BoardRow(own[0], own[1], names.get(own[1], own[1]), own[2], own[3])
    return Board(page, len(order), own_line)


def _names(stx: SyncTx, keys: list[str]) -> dict[str, str]:
    if not keys:
        return {}
    rows = stx.fetchall(
        "SELECT player_key, clean_name FROM players WHERE player_key IN (SELECT value FROM json_each(?))",
        (json.dumps(keys),),
    )
    return {str(r[0]): str(r[1]) for r in rows}


def _own_line(
    stx: SyncTx, qualifying: str, base: list[object], own_key: str | None, page: list[BoardRow]
) -> BoardRow | None:
    """The asking member's line: from the page, else their value and the count of players ahead."""
    if own_key is None:
        return None
    on_page = next((line for line in page if line.key == own_key), None)
    if on_page is not None:
        return on_page
    mine = stx.fetchone(
        f"SELECT q.rounds, q.value, p.clean_name FROM ({qualifying}) q JOIN players p "
        "ON p.player_key = q.player_key WHERE q.player_key = ?",
        [*base, own_key],
    )
    if mine is None:
        return None  # does not qualify
    rounds, value = int(mine[0]), mine[1]
    ahead = stx.fetchone(
        f"SELECT count(*) FROM ({qualifying}) AS q WHERE value > ? OR (value = ? AND (rounds > ? "
        "OR (rounds = ? AND player_key < ?)))",
        [*base, value, value, rounds, rounds, own_key],
    )
    return BoardRow(int(ahead[0]) + 1 if ahead else 1, own_key, str(mine[2]), rounds, value)


totals = as_async(totals_sync)
days = as_async(days_sync)
win_loss = as_async(win_loss_sync)
maps = as_async(maps_sync)
weapons = as_async(weapons_sync)
board = as_async(board_sync)
