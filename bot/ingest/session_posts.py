"""Close idle gaming sessions and queue ONE summary post for each (scheduled by the daemon)."""

from __future__ import annotations

import structlog

from bot.db import outbox
from bot.db import sessions as dbsessions
from bot.db.connection import Database
from bot.db.rounds import parse_played_at
from bot.ingest import posts

log = structlog.get_logger(__name__)


async def close_idle_sessions(db: Database, *, idle_seconds: float, now: float) -> list[int]:
    """Close sessions without a round import for `idle_seconds`; returns the ids closed.

    Each session is closed and its summary queued in one transaction, so a crash never leaves a closed
    session without its post (or posts it twice: the dedupe key names the session and its round count).
    """
    closed: list[int] = []
    for candidate in await dbsessions.idle_sessions(db, last_import_before=now - idle_seconds):
        async with db.transaction() as tx:
            session = await dbsessions.get_session(tx, candidate.id)
            if session is None or session.closed or session.last_import_at >= now - idle_seconds:
                continue  # merged away, closed or revived since the listing
            await dbsessions.mark_closed(tx, session.id)
            matches = [
                posts.MatchResult(
                    map=m.map,
                    outcome=m.outcome,
                    winner_team=m.winner_team,
                    r1_time_s=m.r1_time_s,
                    r2_time_s=m.r2_time_s,
                )
                for m in await dbsessions.session_matches(tx, session.id)
            ]
            players = [
                posts.MatchPlayer(
                    name=p.name,
                    clean_name=p.clean_name,
                    guid=p.guid,
                    kills=p.kills,
                    deaths=p.deaths,
                    kd=posts.kd_value(p.kills, p.deaths),
                    damage_given=p.damage_given,
                    headshot_kills=p.headshot_kills,
                    revives_given=p.revives_given,
                    xp=p.xp,
                )
                for p in await dbsessions.session_players(tx, session.id)
            ]
            payload = posts.session_payload(
                session.server,
                session_id=session.id,
                started_at=parse_played_at(session.started_at),
                ended_at=parse_played_at(session.ended_at),
                rounds=session.round_count,
                maps=await dbsessions.session_maps(tx, session.id),
                matches=matches,
                best_players=players,
            )
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
