"""What a newly counted round beat: server records and personal bests, read in the import transaction.

Called once per round post, after the round's player rows and status are stored (so the kept
aggregates already include it) and before the post is queued: the notes are fixed in the payload, in
the same transaction, and never recomputed. Every "before" value is the best over the OTHER counted
rounds, found by walking an index from the top (player_stats_kills, player_stats_dpm,
rounds_map_fastest, player_stats_player_kills/_dpm): a few index seeks per player.

Nothing is a record without history: MIN_HISTORY earlier counted rounds on the map (the map's
fastest attack), on the server (most kills, best DPM in a round) or of the player (personal bests).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.db.connection import SyncTx
from bot.db.records import MIN_DPM_MINUTES
from bot.db.session_teams import current_teams_sync

MIN_HISTORY = 10
_COUNTED = "(SELECT r.status IN ('r1', 'paired') FROM rounds r WHERE r.id = p.round_id)"
_DPM = "CAST(p.damage_given AS REAL) / p.time_played_min"


@dataclass(frozen=True, slots=True)
class Beaten:
    """A value above the best before it. For a round's time (fastest attack) `key` is empty and `name`
    is the attacking team's name, empty when the session's teams do not tell it."""

    key: str
    name: str
    value: float
    before: float
    map: str = ""


@dataclass(frozen=True, slots=True)
class RoundBests:
    map: str
    most_kills: Beaten | None
    best_dpm: Beaten | None
    fastest: Beaten | None  # seconds: lower is better
    personal_kills: list[Beaten]
    personal_dpm: list[Beaten]


def round_bests_sync(stx: SyncTx, round_id: int) -> RoundBests | None:
    """The round's records and personal bests; None for a round that does not count (yet)."""
    rnd = stx.fetchone(
        "SELECT map, status, winner != defender, duration_s, session_id FROM rounds WHERE id = ?", (round_id,)
    )
    if rnd is None or str(rnd[1]) not in ("r1", "paired"):
        return None
    map_name = str(rnd[0])
    on_map = stx.fetchone("SELECT rounds FROM map_totals WHERE map = ?", (map_name,))
    everywhere = stx.fetchone("SELECT coalesce(sum(rounds), 0) FROM map_totals")
    map_history = (int(on_map[0]) if on_map else 0) - 1
    history = int(everywhere[0]) - 1 if everywhere else 0
    players = stx.fetchall(
        f"SELECT p.player_key, p.clean_name, p.kills, CASE WHEN p.time_played_min >= {MIN_DPM_MINUTES} "
        f"AND p.damage_given > 0 THEN {_DPM} END, coalesce(pl.rounds, 0) - 1 "
        "FROM player_stats p LEFT JOIN players pl ON pl.player_key = p.player_key "
        "WHERE p.round_id = ? AND p.guid != 'OMNIBOT0' AND p.team IN (1, 2) "
        "ORDER BY p.kills DESC, p.clean_name, p.player_key",
        (round_id,),
    )
    most_kills = best_dpm = None
    if history >= MIN_HISTORY and players:
        top = players[0]
        before = _top_other(stx, "p.kills", "player_stats_kills", "p.kills IS NOT NULL", round_id)
        if before is not None and int(top[2]) > before:
            most_kills = Beaten(str(top[0]), str(top[1]), float(top[2]), before)
        dpms = [p for p in players if p[3] is not None]
        if dpms:
            top = max(dpms, key=lambda p: (float(p[3]), str(p[1])))
            where = f"p.time_played_min >= {MIN_DPM_MINUTES} AND p.damage_given > 0"
            before = _top_other(stx, _DPM, "player_stats_dpm", where, round_id)
            if before is not None and float(top[3]) > before:
                best_dpm = Beaten(str(top[0]), str(top[1]), float(top[3]), before)
    fastest = None
    if map_history >= MIN_HISTORY and rnd[2] and rnd[3]:
        prev = stx.fetchone(
            "SELECT r.duration_s FROM rounds r INDEXED BY rounds_map_fastest WHERE r.map = ? "
            "AND r.winner != r.defender AND r.duration_s > 0 AND r.status IN ('r1', 'paired') AND r.id != ? "
            "ORDER BY r.duration_s LIMIT 1",
            (map_name, round_id),
        )
        if prev is not None and int(rnd[3]) < int(prev[0]):
            team = None if rnd[4] is None else current_teams_sync(stx, int(rnd[4])).attackers(round_id)
            fastest = Beaten("", team or "", float(rnd[3]), float(prev[0]), map_name)
    personal_kills, personal_dpm = [], []
    for key, name, kills, dpm, rounds_before in players:
        if int(rounds_before) < MIN_HISTORY:
            continue
        mine = "p.player_key = ?"
        before = _top_other(stx, "p.kills", "player_stats_player_kills", mine, round_id, key)
        if before is not None and int(kills) > before:
            personal_kills.append(Beaten(str(key), str(name), float(kills), before))
        if dpm is not None:
            where = f"{mine} AND p.time_played_min >= {MIN_DPM_MINUTES} AND p.damage_given > 0"
            before = _top_other(stx, _DPM, "player_stats_player_dpm", where, round_id, key)
            if before is not None and float(dpm) > before:
                personal_dpm.append(Beaten(str(key), str(name), float(dpm), before))
    return RoundBests(map_name, most_kills, best_dpm, fastest, personal_kills, personal_dpm)


def _top_other(
    stx: SyncTx, column: str, index: str, where: str, round_id: int, *params: object
) -> float | None:
    """The best `column` over counted rounds other than `round_id`: the first counted row of the index."""
    r = stx.fetchone(
        f"SELECT {column} FROM player_stats p INDEXED BY {index} WHERE {where} AND p.guid != 'OMNIBOT0' "
        f"AND p.round_id != ? AND {_COUNTED} ORDER BY {column} DESC LIMIT 1",
        (*params, round_id),
    )
    return None if r is None or r[0] is None else float(r[0])
