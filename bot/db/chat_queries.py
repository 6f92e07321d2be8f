"""Read-side SQL for the chat side: outbox ordering, slash-command views, member links, chat state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.db import outbox
from bot.db.connection import Database, Reader
from bot.db.outbox import OutboxRow

# Rounds whose player values are per round: round 1s and paired round 2s (orphans and pending round 2s
# hold R1+R2 cumulative values and would count round 1 twice).
COUNTED = "r.status IN ('r1', 'paired')"
SHOWN = "r.status IN ('r1', 'paired', 'orphan')"
JOIN = "FROM player_stats ps JOIN rounds r ON r.id = ps.round_id"

# Leaderboard metrics: SQL aggregate over player_stats ps (per player), and how many decimals to show.
METRICS: dict[str, tuple[str, int]] = {
    "kills": ("sum(ps.kills)", 0),
    "kd": ("CAST(sum(ps.kills) AS REAL) / max(sum(ps.deaths), 1)", 2),
    "damage": ("sum(ps.damage_given)", 0),
    "dpm": ("sum(ps.damage_given) / nullif(sum(ps.time_played_min), 0)", 1),
    "accuracy": ("100.0 * sum(ps.hits) / nullif(sum(ps.shots), 0)", 1),
    "headshots": ("sum(ps.headshot_kills)", 0),
    "revives": ("sum(ps.revives_given)", 0),
    "xp": ("sum(ps.xp)", 0),
}


@dataclass(frozen=True, slots=True)
class FileCounts:
    """Per server: files imported since a time, and files failing or quarantined now."""

    imported: int
    failing: int


@dataclass(frozen=True, slots=True)
class PlayerTotals:
    guid: str
    name: str  # the latest clean name
    rounds: int
    kills: int
    deaths: int
    damage_given: int | None
    dpm: float | None
    accuracy: float | None
    headshot_kills: int | None
    revives_given: int | None
    xp: int | None
    first_played: str
    last_played: str


@dataclass(frozen=True, slots=True)
class PlayerRound:
    """One counted round of a player, for the chart."""

    played_at: str
    map: str
    round_number: int
    kills: int
    deaths: int
    dpm: float | None


@dataclass(frozen=True, slots=True)
class LeaderRow:
    guid: str
    name: str
    rounds: int
    value: float | None


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


async def last_round(
    db: Reader, server: str | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The newest shown round (round fields, players ranked by kills), or None."""
    where, params = (f"{SHOWN} AND r.server = ?", [server]) if server else (SHOWN, [])
    r = await db.fetchone(
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
    players = await db.fetchall(
        "SELECT name, clean_name, guid, team, kills, deaths, shots, hits, headshot_hits, damage_given, "
        "damage_received, headshot_kills, revives_given, xp, time_played_min, flags, gibs, "
        "dynamites_planted, dynamites_defused, objectives_stolen, objectives_returned, "
        "repairs_constructions AS repairs FROM player_stats "
        "WHERE round_id = ? ORDER BY kills DESC, deaths, clean_name, player_key",
        (r[0],),
    )
    return dict(zip(keys, tuple(r), strict=True)), [dict(p) for p in players]


async def latest_session_id(db: Reader, server: str | None = None) -> int | None:
    where, params = ("WHERE server = ?", [server]) if server else ("", [])
    r = await db.fetchone(f"SELECT id FROM sessions {where} ORDER BY ended_at DESC, id DESC LIMIT 1", params)
    return None if r is None else int(r[0])


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def search_players(db: Reader, text: str, *, limit: int = 25) -> list[tuple[str, str]]:
    """(guid, latest name) of players whose name contains `text`, most rounds first (autocomplete)."""
    rows = await db.fetchall(
        f"SELECT ps.guid, ps.clean_name, count(*) AS n, max(r.played_at) {JOIN} "
        "WHERE ps.guid != 'OMNIBOT0' AND ps.clean_name LIKE ? ESCAPE '\\' "
        "GROUP BY ps.guid ORDER BY n DESC, ps.clean_name LIMIT ?",
        (f"%{_like(text)}%", limit),
    )
    return [(str(row[0]), str(row[1])) for row in rows]


async def find_player(db: Reader, text: str) -> tuple[str, str] | None:
    """A player by GUID, else by exact (case-insensitive) name; (guid, latest name)."""
    r = await db.fetchone(
        f"SELECT ps.guid, ps.clean_name, max(r.played_at) {JOIN} "
        "WHERE ps.guid = ? OR lower(ps.clean_name) = lower(?) GROUP BY ps.guid "
        "ORDER BY ps.guid = ? DESC, count(*) DESC LIMIT 1",
        (text, text, text),
    )
    return None if r is None or r[0] is None else (str(r[0]), str(r[1]))


async def player_totals(db: Reader, guid: str, *, since: str | None = None) -> PlayerTotals | None:
    """A player's totals over counted rounds (played_at >= since, server-local text, when given)."""
    r = await db.fetchone(
        "SELECT ps.guid, ps.clean_name, count(*), sum(ps.kills), sum(ps.deaths), sum(ps.damage_given), "
        f"{METRICS['dpm'][0]}, {METRICS['accuracy'][0]}, sum(ps.headshot_kills), sum(ps.revives_given), "
        f"sum(ps.xp), min(r.played_at), max(r.played_at) {JOIN} "
        f"WHERE ps.guid = ? AND {COUNTED} AND r.played_at >= ?",
        (guid, since or ""),
    )
    return None if r is None or not r[2] else PlayerTotals(*tuple(r))


async def player_rounds(db: Reader, guid: str, *, limit: int = 20) -> list[PlayerRound]:
    """The player's last `limit` counted rounds, oldest first."""
    rows = await db.fetchall(
        "SELECT r.played_at, r.map, r.round_number, ps.kills, ps.deaths, "
        f"ps.damage_given / nullif(ps.time_played_min, 0) {JOIN} "
        f"WHERE ps.guid = ? AND {COUNTED} ORDER BY r.played_at DESC, r.id DESC LIMIT ?",
        (guid, limit),
    )
    return [PlayerRound(*tuple(row)) for row in reversed(rows)]


async def leaderboard(
    db: Reader, metric: str, *, since: str | None = None, min_rounds: int = 1, limit: int = 10
) -> list[LeaderRow]:
    """Top players by `metric` (a METRICS key) over counted rounds, among those with >= min_rounds."""
    expr = METRICS[metric][0]
    rows = await db.fetchall(
        f"SELECT ps.guid, ps.clean_name, count(*), {expr} AS value, max(r.played_at) {JOIN} "
        f"WHERE ps.guid != 'OMNIBOT0' AND {COUNTED} AND r.played_at >= ? "
        "GROUP BY ps.guid HAVING count(*) >= ? AND value IS NOT NULL ORDER BY value DESC, count(*) DESC "
        "LIMIT ?",
        (since or "", min_rounds, limit),
    )
    return [LeaderRow(str(r[0]), str(r[1]), int(r[2]), r[3]) for r in rows]


async def names_for(db: Reader, guids: Sequence[str]) -> dict[str, str]:
    """Latest clean name per GUID."""
    if not guids:
        return {}
    marks = ", ".join("?" * len(guids))
    rows = await db.fetchall(
        f"SELECT ps.guid, ps.clean_name, max(r.played_at) {JOIN} WHERE ps.guid IN ({marks}) GROUP BY ps.guid",
        list(guids),
    )
    return {str(r[0]): str(r[1]) for r in rows}
