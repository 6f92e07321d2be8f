"""Session teams SQL: derive (bot.stats.teams) and store teams, rosters and map results; read them back."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.db.connection import SyncTx, as_async
from bot.stats.awards import PlayerTotals
from bot.stats.teams import MapPlay, MapResult, Member, Roster, RoundInfo, Seat, SessionTeams, detect


@dataclass(frozen=True, slots=True)
class StoredMap:
    """A session_maps row with its map's round times for the post."""

    seq: int
    result: MapResult


def _rounds(stx: SyncTx, session_id: int) -> list[sqlite3.Row]:
    return stx.fetchall(
        "SELECT id, map, round_number, status, defender, winner, time_limit_s, next_time_limit_s, flags, "
        "paired_round_id FROM rounds WHERE session_id = ? ORDER BY played_at, filename",
        (session_id,),
    )


def _seats(stx: SyncTx, session_id: int) -> dict[int, list[Seat]]:
    rows = stx.fetchall(
        "SELECT ps.round_id, ps.player_key, ps.clean_name, ps.team, coalesce(ps.time_played_min, 0) * 60 "
        "FROM player_stats ps JOIN rounds r ON r.id = ps.round_id WHERE r.session_id = ? "
        "ORDER BY ps.round_id, ps.player_key",
        (session_id,),
    )
    out: dict[int, list[Seat]] = defaultdict(list)
    for r in rows:
        out[int(r[0])].append(Seat(str(r[1]), str(r[2]), int(r[3]), float(r[4])))
    return out


def session_plays_sync(stx: SyncTx, session_id: int) -> list[MapPlay]:
    """The session's maps in play order: pairs (with their stored match), lone round 1s, lone round 2s."""
    rows = _rounds(stx, session_id)
    seats = _seats(stx, session_id)
    matches = {
        int(m[0]): m
        for m in stx.fetchall(
            "SELECT m.r1_round_id, m.r2_round_id, m.outcome, m.r1_time_s, m.r2_time_s FROM matches m "
            "JOIN rounds r ON r.id = m.r2_round_id WHERE r.session_id = ?",
            (session_id,),
        )
    }
    info = {
        int(r[0]): RoundInfo(
            int(r[0]),
            str(r[1]),
            int(r[2]),
            str(r[3]),
            int(r[4]),
            int(r[5]),
            r[6],
            r[7],
            tuple(seats.get(int(r[0]), ())),
            frozenset(f for f in str(r[8]).split(",") if f),
        )
        for r in rows
    }
    in_pair = {int(m[1]) for m in matches.values() if int(m[0]) in info}
    plays: list[MapPlay] = []
    for r in rows:
        rid = int(r[0])
        rnd = info[rid]
        if rnd.round_number == 1:
            m = matches.get(rid)
            r2 = info.get(int(m[1])) if m is not None else None
            if m is not None and r2 is not None:
                plays.append(MapPlay(rnd.map, rnd, r2, str(m[2]), m[3], m[4]))
            else:
                plays.append(MapPlay(rnd.map, rnd, None))
        elif rid not in in_pair:
            plays.append(MapPlay(rnd.map, None, rnd))
    return plays


def _round1_limits(stx: SyncTx, session_id: int, maps: set[str]) -> dict[str, frozenset[int]]:
    """Round-1 time limits seen on the session's server for `maps` (only needed for lone round 2s)."""
    if not maps:
        return {}
    rows = stx.fetchall(
        "SELECT DISTINCT map, time_limit_s FROM rounds WHERE round_number = 1 AND time_limit_s IS NOT NULL "
        "AND server = (SELECT server FROM sessions WHERE id = ?) AND map IN (SELECT value FROM json_each(?))",
        (session_id, json.dumps(sorted(maps))),
    )
    out: dict[str, set[int]] = defaultdict(set)
    for r in rows:
        out[str(r[0])].add(int(r[1]))
    return {m: frozenset(v) for m, v in out.items()}


def _map_results(stx: SyncTx, session_id: int, maps: Sequence[MapResult]) -> list[tuple[Any, ...]]:
    """Each player's result on each decided map of the session (migration 0009 backfilled with the same
    rule in SQL): the map's lineups say who played for which team; a player listed twice (both lineups)
    counts for neither, bots for no one, a map with no result for no one. The day is the first round's."""
    ids = [i for m in maps for i in (m.r1_round_id, m.r2_round_id) if i is not None]
    played = {
        int(r[0]): str(r[1])
        for r in stx.fetchall(
            "SELECT id, played_at FROM rounds WHERE id IN (SELECT CAST(value AS INTEGER) FROM json_each(?))",
            (json.dumps(ids),),
        )
    }
    started = stx.fetchone("SELECT started_at FROM sessions WHERE id = ?", (session_id,))
    rows: list[tuple[Any, ...]] = []
    for seq, m in enumerate(maps, start=1):
        if m.result not in ("win", "draw"):
            continue
        first = played.get(m.r1_round_id or 0) or played.get(m.r2_round_id or 0)
        day = (first or (str(started[0]) if started is not None else ""))[:10]
        teams_of: dict[str, list[int]] = {}
        for team, keys in m.lineups.items():
            for key in keys:
                teams_of.setdefault(key, []).append(int(team))
        for key, teams in teams_of.items():
            if len(teams) != 1 or key[:9].upper() == "OMNIBOT0:":
                continue
            outcome = "drawn" if m.result == "draw" else "won" if m.winner == teams[0] else "lost"
            rows.append((session_id, seq, key, day, outcome))
    return rows


def derive_sync(stx: SyncTx, session_id: int) -> SessionTeams:
    """Derive the session's teams from its stored rounds and store them (replacing what was there)."""
    plays = session_plays_sync(stx, session_id)
    teams = detect(plays, _round1_limits(stx, session_id, {p.map for p in plays if p.r1 is None}))
    for table in ("session_teams", "session_rosters", "session_maps", "player_map_results"):
        stx.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
    stx.executemany(
        "INSERT INTO session_teams(session_id, team, name, maps_won) VALUES (?, ?, ?, ?)",
        [(session_id, r.team, r.name, teams.score.get(r.team, 0)) for r in teams.rosters],
    )
    stx.executemany(
        "INSERT INTO session_rosters(session_id, player_key, team, name, rounds, seconds) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(session_id, m.key, r.team, m.name, m.rounds, m.seconds) for r in teams.rosters for m in r.members],
    )
    stx.executemany(
        "INSERT INTO session_maps(session_id, seq, map, r1_round_id, r2_round_id, result, attacked_first, "
        "winner, r1_time_s, r2_time_s, fullhold_r1, fullhold_r2, note, lineups) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                session_id,
                seq,
                m.map,
                m.r1_round_id,
                m.r2_round_id,
                m.result,
                m.attacked_first,
                m.winner,
                m.r1_time_s,
                m.r2_time_s,
                int(m.fullhold_r1),
                int(m.fullhold_r2),
                m.note,
                json.dumps({str(t): list(keys) for t, keys in sorted(m.lineups.items())}),
            )
            for seq, m in enumerate(teams.maps, start=1)
        ],
    )
    stx.executemany(  # triggers keep player_results / player_day_results
        "INSERT INTO player_map_results(session_id, seq, player_key, day, outcome) VALUES (?, ?, ?, ?, ?)",
        _map_results(stx, session_id, teams.maps),
    )
    stx.execute("UPDATE sessions SET derived = 1 WHERE id = ?", (session_id,))
    return teams


def ensure_derived_sync(stx: SyncTx, session_id: int) -> None:
    """Derive the session's teams unless what is stored is current."""
    r = stx.fetchone("SELECT derived FROM sessions WHERE id = ?", (session_id,))
    if r is not None and not r[0]:
        derive_sync(stx, session_id)


def current_teams_sync(stx: SyncTx, session_id: int) -> SessionTeams:
    """The session's teams as its rounds say now: the stored derivation when current, else detected
    from the stored rounds without writing anything (an open session, e.g. for a round post's note)."""
    r = stx.fetchone("SELECT derived FROM sessions WHERE id = ?", (session_id,))
    if r is not None and r[0]:
        return stored_teams_sync(stx, session_id)
    plays = session_plays_sync(stx, session_id)
    return detect(plays, _round1_limits(stx, session_id, {p.map for p in plays if p.r1 is None}))


def stored_teams_sync(stx: SyncTx, session_id: int) -> SessionTeams:
    """The stored derivation (call ensure_derived_sync first when it may be stale)."""
    members: dict[int, list[Member]] = defaultdict(list)
    for r in stx.fetchall(
        "SELECT team, player_key, name, rounds, seconds FROM session_rosters WHERE session_id = ? "
        "ORDER BY team, rounds DESC, seconds DESC, lower(name), player_key",
        (session_id,),
    ):
        members[int(r[0])].append(Member(str(r[1]), str(r[2]), int(r[3]), float(r[4])))
    teams = stx.fetchall(
        "SELECT team, name, maps_won FROM session_teams WHERE session_id = ? ORDER BY team", (session_id,)
    )
    rosters = tuple(Roster(int(t[0]), str(t[1]), tuple(members[int(t[0])])) for t in teams)
    maps = tuple(
        MapResult(
            str(m[0]),
            m[1],
            m[2],
            m[3],
            m[4],
            m[5],
            m[6],
            m[7],
            bool(m[8]),
            bool(m[9]),
            str(m[10]),
            {int(k): tuple(v) for k, v in json.loads(m[11]).items()},
        )
        for m in stx.fetchall(
            "SELECT map, r1_round_id, r2_round_id, result, attacked_first, winner, r1_time_s, r2_time_s, "
            "fullhold_r1, fullhold_r2, note, lineups FROM session_maps WHERE session_id = ? ORDER BY seq",
            (session_id,),
        )
    )
    score = {int(t[0]): int(t[2]) for t in teams}
    return SessionTeams(rosters, maps, score, sum(1 for m in maps if m.result == "draw"))


def mark_stale_sync(stx: SyncTx, session_id: int | None) -> None:
    """The session's rounds changed: its stored teams must be derived again before use."""
    if session_id is not None:
        stx.execute("UPDATE sessions SET derived = 0 WHERE id = ?", (session_id,))


# Counted rounds: round 1s and paired round 2s (round-2-only values); a lone round 2 holds R1+R2 totals.
# The name is the one of the player's latest round in the session (a name the group does not decide).
_TOTALS = (
    "SELECT ps.player_key, (SELECT n.clean_name FROM player_stats n JOIN rounds nr ON nr.id = n.round_id "
    "  WHERE nr.session_id = :session AND n.player_key = ps.player_key "
    "  ORDER BY nr.played_at DESC, n.round_id DESC LIMIT 1), "
    "count(*), sum(ps.kills), sum(ps.deaths), "
    "coalesce(sum(ps.gibs), 0), coalesce(sum(ps.damage_given), 0), coalesce(sum(ps.team_damage_given), 0), "
    "sum(ps.shots), sum(ps.hits), sum(ps.headshot_hits), coalesce(sum(ps.revives_given), 0), "
    "coalesce(sum(ps.times_revived), 0), "
    "coalesce(sum(coalesce(ps.dynamites_planted, 0) + coalesce(ps.dynamites_defused, 0) "
    "  + coalesce(ps.objectives_stolen, 0) + coalesce(ps.objectives_returned, 0)), 0), "
    "coalesce(sum(ps.repairs_constructions), 0), coalesce(max(ps.killing_spree), 0), "
    "coalesce(sum(coalesce(ps.multikill_3, 0) + coalesce(ps.multikill_4, 0) + coalesce(ps.multikill_5, 0) "
    "  + coalesce(ps.multikill_6, 0)), 0), coalesce(sum(ps.time_played_min), 0) * 60, max(r.played_at) "
    "FROM player_stats ps JOIN rounds r ON r.id = ps.round_id "
    "WHERE r.session_id = :session AND r.status IN ('r1', 'paired') AND ps.team IN (1, 2) "
)


def player_totals_sync(stx: SyncTx, session_id: int, teams: SessionTeams) -> list[PlayerTotals]:
    """Each player's session totals (spectator lines and bots left out), with his session team."""
    rows = stx.fetchall(
        _TOTALS + "AND ps.guid != 'OMNIBOT0' GROUP BY ps.player_key ORDER BY ps.player_key",
        {"session": session_id},
    )
    out = []
    for r in rows:
        n = [int(v) for v in tuple(r)[2:17]]
        totals = PlayerTotals(
            str(r[0]), str(r[1]), teams.team_of(str(r[0])), n[0], n[1], n[2], n[3], n[4], n[5], n[6],
            n[7], n[8], n[9], n[10], n[11], n[12], n[13], n[14], float(r[17]),
        )  # fmt: skip
        out.append(totals)
    return out


def map_dpm_sync(stx: SyncTx, session_id: int) -> dict[tuple[int, str], float]:
    """(round 1 id or lone round id, player_key) → DPM over that map's counted rounds (session chart)."""
    rows = stx.fetchall(
        "SELECT coalesce(CASE WHEN r.round_number = 2 THEN r.paired_round_id END, r.id), ps.player_key, "
        "sum(coalesce(ps.damage_given, 0)), sum(coalesce(ps.time_played_min, 0)) "
        "FROM player_stats ps JOIN rounds r ON r.id = ps.round_id "
        "WHERE r.session_id = ? AND r.status IN ('r1', 'paired') AND ps.team IN (1, 2) "
        "AND ps.guid != 'OMNIBOT0' GROUP BY 1, 2",
        (session_id,),
    )
    return {(int(r[0]), str(r[1])): float(r[2]) / float(r[3]) for r in rows if r[3]}


derive = as_async(derive_sync)
ensure_derived = as_async(ensure_derived_sync)
stored_teams = as_async(stored_teams_sync)
