"""Read-side SQL for the chat side: outbox ordering, slash-command views, member links, chat state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.db import outbox
from bot.db.connection import Database, Reader, SyncTx, as_async
from bot.db.outbox import OutboxRow

# Rounds whose player values are per round: round 1s and paired round 2s (orphans and pending round 2s
# hold R1+R2 cumulative values and would count round 1 twice).
SHOWN = "r.status IN ('r1', 'paired', 'orphan')"
JOIN = "FROM player_stats ps JOIN rounds r ON r.id = ps.round_id"


@dataclass(frozen=True, slots=True)
class FileCounts:
    """Per server: files imported since a time, and files failing or quarantined now."""

    imported: int
    failing: int


# INDEXED BY: the drainer runs this every 1.5 s. With the table's statistics (PRAGMA optimize) saying
# nearly every row is 'sent', SQLite otherwise walks the whole outbox in id order for the ORDER BY,
# and each earlier row for NOT EXISTS: 0.3 s per run at 117,000 posts, most of an idle daemon's CPU
# (docs/BENCHMARKS.md "Idle daemon"). Through the pending index it reads only the pending rows.
SENDABLE_SQL = (
    "SELECT o.id FROM outbox o INDEXED BY outbox_pending "
    "WHERE o.state = 'pending' AND o.next_attempt_at <= ? "
    "AND NOT EXISTS (SELECT 1 FROM outbox b INDEXED BY outbox_pending WHERE b.state = 'pending' "
    "AND b.channel = o.channel AND b.id < o.id AND b.next_attempt_at > ?) ORDER BY o.id LIMIT ?"
)


async def sendable(db: Reader, *, now: float, limit: int) -> list[OutboxRow]:
    """Due posts that may go now, lowest id first: none behind an earlier post of the same channel
    that is still waiting out its backoff. The order lives in the table, so it holds across restarts,
    and a channel that is backing off never hides the other channel's posts (no head-of-line starvation).
    """
    rows = await db.fetchall(SENDABLE_SQL, (now, now, limit))
    found = [await outbox.get(db, int(r[0])) for r in rows]
    return [row for row in found if row is not None]


async def get_state(db: Reader, key: str) -> str | None:
    """A chat_state value (e.g. the hash of the last synced slash commands)."""
    row = await db.fetchone("SELECT value FROM chat_state WHERE key = ?", (key,))
    return None if row is None else str(row[0])


async def set_state(db: Database, key: str, value: str, *, now: float) -> None:
    await db.execute(
        "INSERT INTO chat_state(key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, value, now),
    )


async def link_member(db: Database, discord_user_id: int, guid: str, *, now: float) -> None:
    """Link a Discord member to a player GUID (replacing an earlier link of that member)."""
    await db.execute(
        "INSERT INTO member_links(discord_user_id, guid, linked_at) VALUES (?, ?, ?) "
        "ON CONFLICT(discord_user_id) DO UPDATE SET guid = excluded.guid, linked_at = excluded.linked_at",
        (discord_user_id, guid, now),
    )


async def unlink_member(db: Database, discord_user_id: int) -> bool:
    result = await db.execute("DELETE FROM member_links WHERE discord_user_id = ?", (discord_user_id,))
    return result.rowcount > 0


async def linked_guid(db: Reader, discord_user_id: int) -> str | None:
    row = await db.fetchone("SELECT guid FROM member_links WHERE discord_user_id = ?", (discord_user_id,))
    return None if row is None else str(row[0])


async def file_counts(db: Reader, *, since: float) -> dict[str, FileCounts]:
    """Per server: files imported since `since` (UTC epoch) and files in failed/quarantined now."""
    rows = await db.fetchall(
        "SELECT server, sum(state = 'imported' AND updated_at >= ?), sum(state IN ('failed', 'quarantined')) "
        "FROM processed_files GROUP BY server",
        (since,),
    )
    return {str(r[0]): FileCounts(int(r[1] or 0), int(r[2] or 0)) for r in rows}


def last_round_sync(
    stx: SyncTx, server: str | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The newest shown round (round fields, players ranked by kills), or None.

    `rounds_played` / `rounds_server_played_id` (migration `players`) give the newest first without a sort.
    """
    where, params = (f"{SHOWN} AND r.server = ?", [server]) if server else (SHOWN, [])
    r = stx.fetchone(
        "SELECT r.id, r.server, r.filename, r.map, r.round_number, r.status, r.played_at, r.defender, "
        "r.winner, r.time_limit_s, r.duration_s, r.flags, p.filename FROM rounds r "
        f"LEFT JOIN rounds p ON p.id = r.paired_round_id WHERE {where} "
        "ORDER BY r.played_at DESC, r.id DESC LIMIT 1",
        params,
    )
    if r is None:
        return None
    keys = (
        "id",
        "server",
        "filename",
        "map",
        "round_number",
        "status",
        "played_at",
        "defender",
        "winner",
        "time_limit_s",
        "duration_s",
        "flags",
        "paired_with",
    )
    players = stx.fetchall(
        "SELECT name, clean_name, guid, team, kills, deaths, shots, hits, headshot_hits, damage_given, "
        "damage_received, headshot_kills, revives_given, xp, time_played_min, flags, gibs, "
        "dynamites_planted, dynamites_defused, objectives_stolen, objectives_returned, "
        "repairs_constructions AS repairs FROM player_stats "
        "WHERE round_id = ? ORDER BY kills DESC, deaths, clean_name, player_key",
        (r[0],),
    )
    return dict(zip(keys, tuple(r), strict=True)), [dict(p) for p in players]


last_round = as_async(last_round_sync)


async def latest_session_id(db: Reader, server: str | None = None) -> int | None:
    where, params = ("WHERE server = ?", [server]) if server else ("", [])
    r = await db.fetchone(f"SELECT id FROM sessions {where} ORDER BY ended_at DESC, id DESC LIMIT 1", params)
    return None if r is None else int(r[0])


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def file_names(
    db: Reader, servers: Sequence[str], text: str, *, state: str | None = None, limit: int = 25
) -> list[tuple[str, str]]:
    """(server, file name) of registry rows whose name starts with `text` (index range per server), then
    rows whose name contains it; only rows in `state` when given (quarantined: the state index)."""
    if state is not None:
        rows = await db.fetchall(
            "SELECT server, filename FROM processed_files WHERE state = ? AND filename LIKE ? ESCAPE '\\' "
            "ORDER BY filename DESC LIMIT ?",
            (state, f"%{_like(text)}%", limit),
        )
        return [(str(r[0]), str(r[1])) for r in rows]
    found: list[tuple[str, str]] = []
    for server in servers:
        rows = await db.fetchall(
            "SELECT server, filename FROM processed_files "
            "WHERE server = ? AND filename >= ? AND filename < ? "
            "ORDER BY filename DESC LIMIT ?",
            (server, text, text + "\U0010ffff", limit),
        )
        found += [(str(r[0]), str(r[1])) for r in rows]
    return found[:limit]


async def link_member_checked(
    db: Database, discord_user_id: int, guid: str, *, now: float, take_over: bool
) -> list[int]:
    """Link a member to a player in one transaction; returns the OTHER members linked to it.

    Without `take_over` nothing is written when another member holds the player (the caller refuses);
    with it (an admin's override) the other members' links to the player are removed.
    """
    async with db.transaction() as tx:
        rows = await tx.fetchall(
            "SELECT discord_user_id FROM member_links WHERE guid = ? AND discord_user_id != ?",
            (guid, discord_user_id),
        )
        others = [int(r[0]) for r in rows]
        if others and not take_over:
            return others
        if others:
            await tx.execute(
                "DELETE FROM member_links WHERE guid = ? AND discord_user_id != ?", (guid, discord_user_id)
            )
        await tx.execute(
            "INSERT INTO member_links(discord_user_id, guid, linked_at) VALUES (?, ?, ?) "
            "ON CONFLICT(discord_user_id) DO UPDATE SET guid = excluded.guid, linked_at = excluded.linked_at",
            (discord_user_id, guid, now),
        )
    return others
