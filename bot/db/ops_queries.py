"""Operations SQL: what diagnose, explain, registry check/repair, health and metrics read, and the repairs."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from bot.db.connection import Reader, Tx

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RegistryRow:
    """The processed_files columns the operations commands look at."""

    server: str
    filename: str
    state: str
    size: int | None
    mtime: int | None
    sha256: str | None
    attempts: int
    last_error: str | None
    round_id: int | None
    updated_at: float
    next_attempt_at: float | None = None
    first_seen_at: float = 0.0
    remote_gone_at: float | None = None
    remote_gone_by: str | None = None


@dataclass(frozen=True, slots=True)
class RoundRef:
    """An imported round by the file it came from (no player data)."""

    id: int
    server: str
    filename: str
    sha256: str
    map: str
    round_number: int
    played_at: str
    status: str
    paired_round_id: int | None
    imported_at: float
    parser_version: int = 0  # bot.stats.version.PARSER_VERSION of the parser that made it


@dataclass(frozen=True, slots=True)
class OutboxRef:
    """An outbox post that mentions a file."""

    id: int
    kind: str
    channel: str
    state: str
    attempts: int
    last_error: str | None
    message_id: str | None
    created_at: float
    sent_at: float | None
    dedupe_key: str = ""
    subject: str = ""  # which file (or match of two files) the post is for; "" when not asked


_REG_COLUMNS = (
    "server, filename, state, size, mtime, sha256, attempts, last_error, round_id, updated_at, "
    "next_attempt_at, first_seen_at, remote_gone_at, remote_gone_by"
)
_OUTBOX_REF_COLUMNS = "id, kind, channel, state, attempts, last_error, message_id, created_at, sent_at"
_ROUND_COLUMNS = (
    "id, server, filename, sha256, map, round_number, played_at, status, paired_round_id, imported_at, "
    "parser_version"
)


def _reg(r: Any) -> RegistryRow:
    return RegistryRow(*tuple(r))


def _round(r: Any) -> RoundRef:
    return RoundRef(*tuple(r))


# Rows turned into values in a worker thread from this many on: 100,000 take a second or more, which
# the daemon's event loop must not wait (the drift watch, the admin /diagnose).
OFF_LOOP_ROWS = 2000


async def _built(make: Callable[[Any], T], rows: list[sqlite3.Row]) -> list[T]:
    if len(rows) < OFF_LOOP_ROWS:
        return [make(r) for r in rows]
    return await asyncio.to_thread(lambda: [make(r) for r in rows])


async def known_servers(db: Reader) -> list[str]:
    """Every server name that appears in the registry or in the rounds."""
    rows = await db.fetchall("SELECT server FROM processed_files UNION SELECT server FROM rounds ORDER BY 1")
    return [str(r[0]) for r in rows]


async def registry_rows(db: Reader, server: str) -> list[RegistryRow]:
    """Every registry row of one server."""
    rows = await db.fetchall(f"SELECT {_REG_COLUMNS} FROM processed_files WHERE server = ?", (server,))
    return await _built(_reg, rows)


async def registry_rows_named(db: Reader, filename: str, server: str | None = None) -> list[RegistryRow]:
    """The registry rows of one file name (on every server unless `server` is given)."""
    sql = f"SELECT {_REG_COLUMNS} FROM processed_files WHERE filename = ?"
    params: list[Any] = [filename]
    if server is not None:
        sql += " AND server = ?"
        params.append(server)
    return [_reg(r) for r in await db.fetchall(sql + " ORDER BY server", params)]


async def round_refs(db: Reader, server: str) -> list[RoundRef]:
    """Every round of one server (without players)."""
    rows = await db.fetchall(f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE server = ?", (server,))
    return await _built(_round, rows)


async def rounds_named(db: Reader, filename: str, server: str | None = None) -> list[RoundRef]:
    """The rounds imported from one file name (on every server unless `server` is given)."""
    sql = f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE filename = ?"
    params: list[Any] = [filename]
    if server is not None:
        sql += " AND server = ?"
        params.append(server)
    return [_round(r) for r in await db.fetchall(sql + " ORDER BY server", params)]


async def round_by_id(db: Reader, round_id: int) -> RoundRef | None:
    r = await db.fetchone(f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE id = ?", (round_id,))
    return None if r is None else _round(r)


async def rounds_since(
    db: Reader, *, played_from: str, server: str | None = None, map_name: str | None = None
) -> list[RoundRef]:
    """Rounds played at or after `played_from` ('YYYY-MM-DD HH:MM:SS'), optionally of one server / map."""
    sql = f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE played_at >= ?"
    params: list[Any] = [played_from]
    if server is not None:
        sql += " AND server = ?"
        params.append(server)
    if map_name is not None:
        sql += " AND map = ?"
        params.append(map_name)
    return [_round(r) for r in await db.fetchall(sql + " ORDER BY played_at, server, filename", params)]


def post_subject(dedupe_key: str, server: str, filename: str) -> str | None:
    """Which file a post is for, from its dedupe key ('round:S:F', 'round:S:F:paired:R1', 'match:S:R1:R2',
    'alert:quarantined:S:F:ts'); None when the post is not for `filename` of `server`.

    Exact tokens, not substrings: a round 2's post names its round 1 too, and must not be listed under it.
    """
    parts = dedupe_key.split(":")
    for i, part in enumerate(parts):
        if part != server:
            continue
        files = [p for p in parts[i + 1 :] if p.endswith(".txt")]
        if not files:
            continue
        if parts[0] == "match" and filename in files:
            return "match " + " + ".join(files)
        if files[0] == filename:
            return filename
    return None


async def outbox_for_file(db: Reader, server: str, filename: str) -> list[OutboxRef]:
    """Outbox posts for this file of this server (its round post, its match, its alerts), oldest first."""
    # instr (not LIKE: '_' in file names is a LIKE wildcard) only narrows; post_subject decides exactly.
    rows = await db.fetchall(
        f"SELECT {_OUTBOX_REF_COLUMNS}, dedupe_key FROM outbox WHERE instr(dedupe_key, ?) > 0 ORDER BY id",
        (filename,),
    )
    found: list[OutboxRef] = []
    for r in rows:
        subject = post_subject(str(r[9]), server, filename)
        if subject is not None:
            ref = OutboxRef(*tuple(r)[:9])
            found.append(replace(ref, dedupe_key=str(r[9]), subject=subject))
    return found


async def outbox_backlog(db: Reader) -> int:
    """Posts still waiting to be sent."""
    r = await db.fetchone("SELECT count(*) FROM outbox WHERE state = 'pending'")
    return 0 if r is None else int(r[0])


async def outbox_counts(db: Reader) -> dict[str, int]:
    """Outbox rows per state (pending, sent, dead)."""
    return {
        str(r[0]): int(r[1]) for r in await db.fetchall("SELECT state, count(*) FROM outbox GROUP BY state")
    }


async def state_counts(db: Reader) -> dict[tuple[str, str], int]:
    """(server, state) → number of registry rows."""
    rows = await db.fetchall("SELECT server, state, count(*) FROM processed_files GROUP BY server, state")
    return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}


async def round_counts(db: Reader) -> dict[str, int]:
    """server → number of imported rounds."""
    return {
        str(r[0]): int(r[1]) for r in await db.fetchall("SELECT server, count(*) FROM rounds GROUP BY server")
    }


async def open_alert_count(db: Reader) -> int:
    r = await db.fetchone("SELECT count(*) FROM alerts WHERE resolved_at IS NULL")
    return 0 if r is None else int(r[0])


def quick_check_file(path: Path) -> list[str]:
    """`PRAGMA quick_check` on a separate read-only connection (["ok"] when healthy). Blocking: use a thread.

    The check reads the whole file; on its own connection (WAL lets readers run beside the writer) it
    never holds up the daemon's single connection, and so never delays an import.
    """
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return [str(r[0]) for r in conn.execute("PRAGMA quick_check")]
    finally:
        conn.close()


async def delete_registry_rows(tx: Tx, server: str, filenames: Iterable[str]) -> int:
    """Forget registry rows ('imported' rows whose round is gone): those files get processed anew."""
    return await tx.executemany(
        "DELETE FROM processed_files WHERE server = ? AND filename = ?", [(server, n) for n in filenames]
    )


async def delete_round(tx: Tx, round_id: int) -> None:
    """Remove one round; players, weapons and its match go with it (ON DELETE CASCADE / SET NULL).

    Its session counts one round less, so re-importing it (reprocess) leaves the count, and with it the
    session post's dedupe key, as it was: no second summary for an unchanged session. Its stored teams
    are stale from now on (derived again by reprocess, or by the next reader).
    """
    await tx.execute(
        "UPDATE sessions SET round_count = max(round_count - 1, 0), derived = 0 "
        "WHERE id = (SELECT session_id FROM rounds WHERE id = ?)",
        (round_id,),
    )
    await tx.execute("UPDATE rounds SET paired_round_id = NULL WHERE paired_round_id = ?", (round_id,))
    await tx.execute("DELETE FROM rounds WHERE id = ?", (round_id,))


async def dead_posts(db: Reader, limit: int = 200) -> list[OutboxRef]:
    """Posts the drainer gave up on (permanent 4xx, repeated unexpected errors), newest first."""
    rows = await db.fetchall(
        f"SELECT {_OUTBOX_REF_COLUMNS} FROM outbox WHERE state = 'dead' ORDER BY id DESC LIMIT ?", (limit,)
    )
    return [OutboxRef(*tuple(r)) for r in rows]


async def requeue_dead_posts(tx: Tx, ids: Iterable[int] | None) -> list[int]:
    """Put dead posts back in the queue (all of them when `ids` is None); returns the ids re-queued.

    Same row, same nonce: the drainer sends them in id order with its usual duplicate checks. A post
    whose subject has a newer post (a correction, which posts itself when it has no message to edit)
    is out of date and stays dead: sending it would be a second message about the same thing.
    """
    current = "NOT EXISTS (SELECT 1 FROM outbox n WHERE n.subject = o.subject AND n.id > o.id)"
    if ids is None:
        rows = await tx.fetchall(f"SELECT id FROM outbox o WHERE state = 'dead' AND {current} ORDER BY id")
    else:
        wanted = sorted(set(ids))
        rows = await tx.fetchall(
            "SELECT id FROM outbox o WHERE state = 'dead' "
            "AND id IN (SELECT CAST(value AS INTEGER) FROM json_each(?)) "
            f"AND {current} ORDER BY id",
            (json.dumps(wanted),),
        )
    requeued = [int(r[0]) for r in rows]
    await tx.executemany(
        "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = 0 WHERE id = ?",
        [(i,) for i in requeued],
    )
    return requeued
