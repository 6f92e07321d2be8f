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

import json
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
    # The round and the counted rounds on its map and everywhere (kept aggregates): one statement.
    rnd = stx.fetchone(
        "SELECT r.map, r.status, r.winner != r.defender, r.duration_s, r.session_id, "
        "(SELECT t.rounds FROM map_totals t WHERE t.map = r.map), "
        "(SELECT coalesce(sum(t.rounds), 0) FROM map_totals t) FROM rounds r WHERE r.id = ?",
        (round_id,),
    )
    if rnd is None or str(rnd[1]) not in ("r1", "paired"):
        return None
    map_name = str(rnd[0])
    map_history = (int(rnd[5]) if rnd[5] is not None else 0) - 1
    history = int(rnd[6]) - 1
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
        dpm_where = f"p.time_played_min >= {MIN_DPM_MINUTES} AND p.damage_given > 0"
        server = stx.fetchone(  # both server records before this round: one statement
            f"SELECT ({_top_other('p.kills', 'player_stats_kills', 'p.kills IS NOT NULL')}), "
            f"({_top_other(_DPM, 'player_stats_dpm', dpm_where)})",
            (round_id, round_id),
        )
        assert server is not None
        before = None if server[0] is None else float(server[0])
        if before is not None and int(top[2]) > before:
            most_kills = Beaten(str(top[0]), str(top[1]), float(top[2]), before)
        dpms = [p for p in players if p[3] is not None]
        if dpms and server[1] is not None:
            top = max(dpms, key=lambda p: (float(p[3]), str(p[1])))
            before = float(server[1])
            if float(top[3]) > before:
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
    regulars = [p for p in players if int(p[4]) >= MIN_HISTORY]
    bests = _personal_bests(stx, [str(p[0]) for p in regulars], round_id) if regulars else {}
    for key, name, kills, dpm, _rounds_before in regulars:
        kills_before, dpm_before = bests.get(str(key), (None, None))
        if kills_before is not None and int(kills) > kills_before:
            personal_kills.append(Beaten(str(key), str(name), float(kills), kills_before))
        if dpm is not None and dpm_before is not None and float(dpm) > dpm_before:
            personal_dpm.append(Beaten(str(key), str(name), float(dpm), dpm_before))
    return RoundBests(map_name, most_kills, best_dpm, fastest, personal_kills, personal_dpm)


def _top_other(column: str, index: str, where: str) -> str:
    """The best `column` over counted rounds other than the round `?`: the first counted row of the index."""
    return (
        f"SELECT {column} FROM player_stats p INDEXED BY {index} WHERE {where} AND p.guid != 'OMNIBOT0' "
        f"AND p.round_id != ? AND {_COUNTED} ORDER BY {column} DESC LIMIT 1"
    )


def _personal_bests(
    stx: SyncTx, keys: list[str], round_id: int
) -> dict[str, tuple[float | None, float | None]]:
    """Per player: the best kills and DPM over their other counted rounds, for all of them in ONE
    statement (the same two index walks per player; one round trip on PostgreSQL, not two per player)."""
    mine = "p.player_key = k.value"
    dpm_where = f"{mine} AND p.time_played_min >= {MIN_DPM_MINUTES} AND p.damage_given > 0"
    rows = stx.fetchall(
        f"SELECT k.value, ({_top_other('p.kills', 'player_stats_player_kills', mine)}), "
        f"({_top_other(_DPM, 'player_stats_player_dpm', dpm_where)}) FROM json_each(?) k",
        (round_id, round_id, json.dumps(keys)),
    )
    return {
        str(r[0]): (None if r[1] is None else float(r[1]), None if r[2] is None else float(r[2]))
        for r in rows
    }
