"""The session summary (teams, score, maps, MVP, awards, players, chart data) and the idle-session post.

`session_summary_sync` is the one builder behind the session post, `/last_session` and
`statsbot session show`; its JSON shape is documented in README ("Session JSON").
"""

from __future__ import annotations

from collections import Counter
from typing import TypedDict

import structlog

from bot.db import outbox
from bot.db import session_teams as dbteams
from bot.db import sessions as dbsessions
from bot.db.connection import Database, SyncTx
from bot.ingest import posts
from bot.ingest.record_notes import session_notes_sync
from bot.stats import awards
from bot.stats.teams import MapResult, SessionTeams

log = structlog.get_logger(__name__)

CHART_PLAYERS = 12  # a chart with more lines is unreadable; the roster regulars are kept


class SessionTeam(TypedDict):
    team: int  # 1 or 2: the numbers `maps[].winner`, `players[].team` refer to
    name: str
    maps_won: int
    players: list[str]  # clean names, regulars first


class SessionMap(TypedDict):
    map: str
    result: str  # win | draw | no_result
    attacked_first: int | None
    winner: int | None
    r1_time_s: int | None  # the first attackers' time (the limit when held)
    r2_time_s: int | None
    r1_held: bool
    r2_held: bool
    note: str  # '' | 'no round 2' | 'round 1 missing'


class SessionPlayer(TypedDict):
    key: str
    name: str
    team: int | None
    rounds: int
    kills: int
    deaths: int
    gibs: int
    dpm: float | None
    accuracy: float | None
    revives_given: int
    objectives: int
    points: float  # MVP points (README "MVP")


class SessionAward(TypedDict):
    title: str
    key: str
    name: str
    value: str


class ChartSeries(TypedDict):
    name: str
    team: int | None
    dpm: list[float | None]  # one per `chart.maps` entry


class SessionChart(TypedDict):
    maps: list[str]
    series: list[ChartSeries]
    teams: dict[str, str]  # team number ("1"/"2") → name, for the legend


class SessionPayload(TypedDict):
    """kind "session": a gaming session that went idle (also `statsbot session show --json`)."""

    server: str
    session_id: int
    started_at: str  # ISO 8601, server-local
    ended_at: str
    rounds: int
    closed: bool
    teams: list[SessionTeam]  # 0-2 entries
    draws: int
    maps: list[SessionMap]
    mvp: SessionPlayer | None
    awards: list[SessionAward]
    players: list[SessionPlayer]  # best MVP points first
    chart: SessionChart
    notes: list[str]


def _player(p: awards.PlayerTotals) -> SessionPlayer:
    dpm, acc = p.dpm, p.accuracy
    return SessionPlayer(
        key=p.key, name=p.name, team=p.team, rounds=p.rounds, kills=p.kills, deaths=p.deaths, gibs=p.gibs,
        dpm=None if dpm is None else round(dpm, 1), accuracy=None if acc is None else round(acc, 1),
        revives_given=p.revives_given, objectives=p.objectives, points=round(awards.mvp_points(p), 1),
    )  # fmt: skip


def _map(m: MapResult) -> SessionMap:
    return SessionMap(
        map=m.map, result=m.result, attacked_first=m.attacked_first, winner=m.winner, r1_time_s=m.r1_time_s,
        r2_time_s=m.r2_time_s, r1_held=m.fullhold_r1, r2_held=m.fullhold_r2, note=m.note,
    )  # fmt: skip


def _chart(teams: SessionTeams, dpm: dict[tuple[int, str], float]) -> SessionChart:
    """DPM per player per map; a map played twice is labelled `te_escape2 #2`."""
    seen: Counter[str] = Counter()
    labels = []
    for m in teams.maps:
        seen[m.map] += 1
        labels.append(m.map if seen[m.map] == 1 else f"{m.map} #{seen[m.map]}")
    members = sorted(
        (mem for r in teams.rosters for mem in r.members),
        key=lambda x: (-x.rounds, -x.seconds, x.name.lower()),
    )[:CHART_PLAYERS]
    series = []
    for mem in sorted(members, key=lambda x: (teams.team_of(x.key) or 0, x.name.lower())):
        values = [
            None if m.r1_round_id is None else _rounded(dpm.get((m.r1_round_id, mem.key))) for m in teams.maps
        ]
        series.append(ChartSeries(name=mem.name, team=teams.team_of(mem.key), dpm=values))
    names = {str(r.team): r.name for r in teams.rosters}
    return SessionChart(maps=labels, series=series, teams=names)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def session_summary_sync(stx: SyncTx, session_id: int) -> SessionPayload | None:
    """The session as posted and shown; derives its teams first when they are stale (a write)."""
    session = dbsessions.get_session_sync(stx, session_id)
    if session is None:
        return None
    dbteams.ensure_derived_sync(stx, session_id)
    teams = dbteams.stored_teams_sync(stx, session_id)
    totals = dbteams.player_totals_sync(stx, session_id, teams)
    players = sorted(totals, key=lambda p: (-awards.mvp_points(p), p.name.lower(), p.key))
    best = awards.mvp(totals)
    return SessionPayload(
        server=session.server,
        session_id=session.id,
        started_at=session.started_at.replace(" ", "T"),
        ended_at=session.ended_at.replace(" ", "T"),
        rounds=session.round_count,
        closed=session.closed,
        teams=[
            SessionTeam(
                team=r.team,
                name=r.name,
                maps_won=teams.score.get(r.team, 0),
                players=[m.name for m in r.members],
            )
            for r in teams.rosters
        ],
        draws=teams.draws,
        maps=[_map(m) for m in teams.maps],
        mvp=None if best is None else _player(best),
        awards=[
            SessionAward(title=a.title, key=a.key, name=a.name, value=a.value) for a in awards.awards(totals)
        ],
        players=[_player(p) for p in players],
        chart=_chart(teams, dbteams.map_dpm_sync(stx, session_id)),
        notes=session_notes_sync(stx, session_id, teams),
    )


async def close_idle_sessions(db: Database, *, idle_seconds: float, now: float) -> list[int]:
    """Close sessions without a round import for `idle_seconds`; returns the ids closed.

    Each session is closed, its teams derived and its summary queued in one transaction, so a crash
    never leaves a closed session without its post (or posts it twice: the dedupe key names the
    session and its round count).
    """
    closed: list[int] = []
    for candidate in await dbsessions.idle_sessions(db, last_import_before=now - idle_seconds):
        async with db.transaction() as tx:
            session = await dbsessions.get_session(tx, candidate.id)
            if session is None or session.closed or session.last_import_at >= now - idle_seconds:
                continue  # merged away, closed or revived since the listing
            await dbsessions.mark_closed(tx, session.id)
            await dbteams.derive(tx, session.id)
            payload = await tx.call(session_summary_sync, session.id)
            assert payload is not None
            await outbox.enqueue(
                tx,
                kind=posts.KIND_SESSION,
                channel="stats",
                dedupe_key=f"session:{session.server}:{session.id}:{session.round_count}",
                payload=payload,
                now=now,
            )
        closed.append(session.id)
        log.info("session_closed", server=session.server, session_id=session.id, rounds=session.round_count)
    return closed
