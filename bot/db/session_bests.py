"""What a gaming session beat: server records, each map's fastest attack, personal bests (for its post).

The session's best values are compared with the best of the counted rounds played BEFORE the session
started, so the answer is the same whenever the summary is built (at close, for `/last_session`, or
`statsbot session show` years later) and a history imported in one go is judged as it was played.
Every "before" value is the first counted, earlier row of an index walked from the top (the indexes
round notes use: bot.db.round_notes); the round's status and time are checked per row, so a walk
stops after the session's own rows. A player's or map's history is counted only once a record shows.

Nothing is a record without history: MIN_HISTORY earlier counted rounds on the map, on the server or
of the player, as for round notes.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.db.connection import SyncTx
from bot.db.records import MIN_DPM_MINUTES
from bot.db.round_notes import MIN_HISTORY, Beaten
from bot.stats.teams import SessionTeams

_COUNTED = "status IN ('r1', 'paired')"
# Per player_stats row p: its round counts and was played before the session (?: started_at).
_BEFORE = "(SELECT r.status IN ('r1', 'paired') AND r.played_at < ? FROM rounds r WHERE r.id = p.round_id)"
_DPM = "CAST(p.damage_given AS REAL) / p.time_played_min"
_DPM_ROWS = f"p.time_played_min >= {MIN_DPM_MINUTES} AND p.damage_given > 0"


@dataclass(frozen=True, slots=True)
class SessionBests:
    fastest: list[Beaten]  # per map, play order; `name` is the attacking team ('' when unknown)
    most_kills: Beaten | None  # `map`: where it was set
    best_dpm: Beaten | None
    personal_kills: list[Beaten]  # the session's best kills first
    personal_dpm: list[Beaten]


def session_bests_sync(stx: SyncTx, session_id: int, teams: SessionTeams) -> SessionBests | None:
    """The session's records and personal bests; None for a session that does not exist."""
    s = stx.fetchone("SELECT started_at FROM sessions WHERE id = ?", (session_id,))
    if s is None:
        return None
    start = str(s[0])
    # INDEXED BY rounds_session: ordered by played_at, SQLite would rather walk every round in time order.
    rows = stx.fetchall(
        f"SELECT p.player_key, p.clean_name, coalesce(p.kills, 0), CASE WHEN {_DPM_ROWS} THEN {_DPM} END, "
        "r.map FROM rounds r INDEXED BY rounds_session JOIN player_stats p ON p.round_id = r.id "
        "WHERE r.session_id = ? "
        "AND r.status IN ('r1', 'paired') AND p.guid != 'OMNIBOT0' AND p.team IN (1, 2) "
        "ORDER BY r.played_at, r.filename, p.player_key",
        (session_id,),
    )
    # Each player's best kills and best DPM of the session (the first round that reached it).
    kills: dict[str, Beaten] = {}
    dpm: dict[str, Beaten] = {}
    for key, name, k, d, map_name in rows:
        if key not in kills or int(k) > kills[key].value:
            kills[key] = Beaten(str(key), str(name), float(k), 0.0, str(map_name))
        if d is not None and (key not in dpm or float(d) > dpm[key].value):
            dpm[key] = Beaten(str(key), str(name), float(d), 0.0, str(map_name))
    most_kills = best_dpm = None
    if _history(
        stx, f"SELECT 1 FROM rounds INDEXED BY rounds_played WHERE played_at < ? AND {_COUNTED}", start
    ):
        if kills:
            top = max(kills.values(), key=lambda b: (b.value, b.name))
            most_kills = _beaten(stx, top, "p.kills", "player_stats_kills", "p.kills IS NOT NULL", start)
        if dpm:
            top = max(dpm.values(), key=lambda b: (b.value, b.name))
            best_dpm = _beaten(stx, top, _DPM, "player_stats_dpm", _DPM_ROWS, start)
    personal_kills, personal_dpm = [], []
    mine = "p.player_key = ?"
    for b in sorted(kills.values(), key=lambda b: (-b.value, b.name.lower(), b.key)):
        found = _beaten(stx, b, "p.kills", "player_stats_player_kills", mine, start, b.key)
        if found is not None and _player_history(stx, b.key, start):
            personal_kills.append(found)
    for b in sorted(dpm.values(), key=lambda b: (-b.value, b.name.lower(), b.key)):
        found = _beaten(stx, b, _DPM, "player_stats_player_dpm", f"{mine} AND {_DPM_ROWS}", start, b.key)
        if found is not None and _player_history(stx, b.key, start):
            personal_dpm.append(found)
    return SessionBests(_fastest(stx, session_id, start, teams), most_kills, best_dpm, personal_kills,
                        personal_dpm)  # fmt: skip


def _fastest(stx: SyncTx, session_id: int, start: str, teams: SessionTeams) -> list[Beaten]:
    """Each map's fastest completed attack of the session, where it beat every earlier one."""
    rows = stx.fetchall(
        "SELECT id, map, duration_s FROM rounds INDEXED BY rounds_session "
        "WHERE session_id = ? AND status IN ('r1', 'paired') "
        "AND winner != defender AND duration_s > 0 ORDER BY played_at, filename",
        (session_id,),
    )
    best: dict[str, tuple[int, int]] = {}  # map -> (seconds, round id), maps in play order
    for rid, map_name, seconds in rows:
        if str(map_name) not in best or int(seconds) < best[str(map_name)][0]:
            best[str(map_name)] = (int(seconds), int(rid))
    out = []
    for map_name, (seconds, rid) in best.items():
        prev = stx.fetchone(
            "SELECT r.duration_s FROM rounds r INDEXED BY rounds_map_fastest WHERE r.map = ? "
            f"AND r.winner != r.defender AND r.duration_s > 0 AND r.{_COUNTED} AND r.played_at < ? "
            "ORDER BY r.duration_s LIMIT 1",
            (map_name, start),
        )
        if prev is None or seconds >= int(prev[0]):
            continue
        if _history(
            stx, f"SELECT 1 FROM rounds WHERE map = ? AND played_at < ? AND {_COUNTED}", map_name, start
        ):
            out.append(Beaten("", teams.attackers(rid) or "", float(seconds), float(prev[0]), map_name))
    return out


def _beaten(
    stx: SyncTx, best: Beaten, column: str, index: str, where: str, start: str, *params: object
) -> Beaten | None:
    """`best` with its "before" value when it beats every counted row played before `start`."""
    r = stx.fetchone(
        f"SELECT {column} FROM player_stats p INDEXED BY {index} WHERE {where} AND p.guid != 'OMNIBOT0' "
        f"AND {_BEFORE} ORDER BY {column} DESC LIMIT 1",
        (*params, start),
    )
    if r is None or r[0] is None or best.value <= float(r[0]):
        return None
    return Beaten(best.key, best.name, best.value, float(r[0]), best.map)


def _history(stx: SyncTx, select: str, *params: object) -> bool:
    """Whether `select` (rows of earlier counted rounds) finds at least MIN_HISTORY rows."""
    r = stx.fetchone(f"SELECT count(*) FROM ({select} LIMIT {MIN_HISTORY}) AS earlier", params)
    return r is not None and int(r[0]) >= MIN_HISTORY


def _player_history(stx: SyncTx, key: str, start: str) -> bool:
    return _history(
        stx,
        "SELECT 1 FROM player_stats p INDEXED BY player_stats_player_kills WHERE p.player_key = ? "
        f"AND p.guid != 'OMNIBOT0' AND {_BEFORE}",
        key,
        start,
    )
