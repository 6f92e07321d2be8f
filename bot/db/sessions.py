"""Session SQL: gaming sessions (rounds of one server less than a gap apart), idle closing, summaries."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from bot.db.connection import SyncTx, as_async
from bot.db.rounds import parse_played_at, played_at_text


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One `sessions` row."""

    id: int
    server: str
    started_at: str
    ended_at: str
    round_count: int
    last_import_at: float
    closed: bool


@dataclass(frozen=True, slots=True)
class SessionMatch:
    map: str
    outcome: str
    winner_team: int | None
    r1_time_s: int | None
    r2_time_s: int | None


@dataclass(frozen=True, slots=True)
class SessionPlayer:
    """A player's totals over a session's counted rounds (round 1s and paired round 2s)."""

    guid: str
    name: str
    clean_name: str
    kills: int
    deaths: int
    damage_given: int | None
    headshot_kills: int | None
    revives_given: int | None
    xp: int | None


_SESSION_COLUMNS = "id, server, started_at, ended_at, round_count, last_import_at, closed"


def _session(r: sqlite3.Row) -> SessionRow:
    return SessionRow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]))


def attach_round_sync(stx: SyncTx, server: str, played_at: str, *, gap_seconds: float, now: float) -> int:
    """The session a round played at `played_at` belongs to; created, or merged when it bridges two.

    A round joins a session whose span widened by the gap on both sides contains it. A late round that
    lands in a closed session re-opens it (its summary is posted again with the new numbers).
    """
    at = parse_played_at(played_at)
    gap = dt.timedelta(seconds=gap_seconds)
    # A server's sessions stay more than a gap apart (a round within a gap of two merges them), so at
    # most two can touch [at - gap, at + gap]: the latest few starting before its end are enough (an
    # index seek, not a scan of the server's history). A few spare rows cover a changed gap setting.
    rows = stx.fetchall(
        f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE server = ? AND started_at <= ? "
        "ORDER BY started_at DESC LIMIT 4",
        (server, played_at_text(at + gap)),
    )
    low = played_at_text(at - gap)
    found = sorted((s for s in map(_session, rows) if s.ended_at >= low), key=lambda s: s.id)
    if not found:
        return stx.insert_id(
            "INSERT INTO sessions(server, started_at, ended_at, round_count, last_import_at, closed) "
            "VALUES (?, ?, ?, 1, ?, 0)",
            (server, played_at, played_at, now),
        )
    keep, merged = found[0], found[1:]
    started = min([played_at, *(s.started_at for s in found)])
    ended = max([played_at, *(s.ended_at for s in found)])
    count = 1 + sum(s.round_count for s in found)
    if merged:
        ids = [(keep.id, s.id) for s in merged]
        stx.executemany("UPDATE rounds SET session_id = ? WHERE session_id = ?", ids)
        stx.executemany("UPDATE matches SET session_id = ? WHERE session_id = ?", ids)
        stx.executemany("DELETE FROM sessions WHERE id = ?", [(s.id,) for s in merged])
    stx.execute(
        "UPDATE sessions SET started_at = ?, ended_at = ?, round_count = ?, last_import_at = ?, closed = 0, "
        "derived = 0 "
        "WHERE id = ?",
        (started, ended, count, now, keep.id),
    )
    return keep.id


def get_session_sync(stx: SyncTx, session_id: int) -> SessionRow | None:
    r = stx.fetchone(f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,))
    return None if r is None else _session(r)


def sessions_of_sync(stx: SyncTx, server: str) -> list[SessionRow]:
    """A server's sessions, oldest first."""
    rows = stx.fetchall(
        f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE server = ? ORDER BY started_at", (server,)
    )
    return [_session(r) for r in rows]


def idle_sessions_sync(stx: SyncTx, *, last_import_before: float) -> list[SessionRow]:
    """Open sessions whose last round import is older than the cut-off."""
    rows = stx.fetchall(
        f"SELECT {_SESSION_COLUMNS} FROM sessions WHERE closed = 0 AND last_import_at < ? ORDER BY id",
        (last_import_before,),
    )
    return [_session(r) for r in rows]


def mark_closed_sync(stx: SyncTx, session_id: int) -> bool:
    """Close a session; False when it was closed (or merged away) meanwhile."""
    result = stx.execute("UPDATE sessions SET closed = 1 WHERE id = ? AND closed = 0", (session_id,))
    return result.rowcount == 1


def session_maps_sync(stx: SyncTx, session_id: int) -> list[str]:
    """Maps in play order: one entry per round 1, plus round 2s that have no round 1."""
    rows = stx.fetchall(
        "SELECT map, round_number, status FROM rounds WHERE session_id = ? ORDER BY played_at, filename",
        (session_id,),
    )
    return [r[0] for r in rows if r[1] == 1 or r[2] != "paired"]


def session_matches_sync(stx: SyncTx, session_id: int) -> list[SessionMatch]:
    rows = stx.fetchall(
        "SELECT m.map, m.outcome, m.winner_team, m.r1_time_s, m.r2_time_s FROM matches m "
        "JOIN rounds r ON r.id = m.r1_round_id WHERE m.session_id = ? ORDER BY r.played_at, r.filename",
        (session_id,),
    )
    return [SessionMatch(*tuple(r)) for r in rows]


def session_players_sync(stx: SyncTx, session_id: int) -> list[SessionPlayer]:
    """Per-player totals; orphan/pending round 2s hold cumulative values and are left out."""
    # SQLite takes bare columns (name, clean_name) from the row holding max(played_at): the latest name.
    rows = stx.fetchall(
        "SELECT ps.guid, ps.name, ps.clean_name, sum(ps.kills), sum(ps.deaths), sum(ps.damage_given), "
        "sum(ps.headshot_kills), sum(ps.revives_given), sum(ps.xp), max(r.played_at) "
        "FROM player_stats ps JOIN rounds r ON r.id = ps.round_id "
        "WHERE r.session_id = ? AND r.status IN ('r1', 'paired') GROUP BY ps.player_key",
        (session_id,),
    )
    return [SessionPlayer(*tuple(r)[:9]) for r in rows]


# Awaitable twins: `await sessions.get_session(db_or_tx, ...)` runs the helper on the database thread.
attach_round = as_async(attach_round_sync)
get_session = as_async(get_session_sync)
sessions_of = as_async(sessions_of_sync)
idle_sessions = as_async(idle_sessions_sync)
mark_closed = as_async(mark_closed_sync)
session_maps = as_async(session_maps_sync)
session_matches = as_async(session_matches_sync)
session_players = as_async(session_players_sync)


def close_sessions_of_rounds_sync(stx: SyncTx, round_ids: Sequence[int]) -> int:
    """Mark the sessions of these rounds closed, as if summarised (history imported without posts)."""
    if not round_ids:
        return 0
    return stx.execute(
        "UPDATE sessions SET closed = 1 WHERE closed = 0 AND id IN "
        "(SELECT session_id FROM rounds WHERE id IN (SELECT CAST(value AS INTEGER) FROM json_each(?)))",
        (json.dumps(list(round_ids)),),
    ).rowcount
