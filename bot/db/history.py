"""History: the files already on a server when statsbot first listed it (bot/ingest/history.py).

A server's first complete listing, while it has no registry row and no round, records its horizon here
and in `instance.quiet_until` (bot/db/continuity.py), in the caller's transaction (the one that records
the listing's rows): a crash cannot import the history without the horizon that keeps it quiet.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.db.connection import Reader
from bot.db.file_states import FINAL_STATES
from bot.db.tx import SyncTx

_NOT_FINAL = tuple(sorted({"seen", "downloaded", "failed"} - set(FINAL_STATES)))


@dataclass(frozen=True, slots=True)
class HistoryDone:
    """A server's history, all imported: what its one summary says."""

    server: str
    rounds: int
    first: str | None  # played_at of the oldest history round
    last: str | None


def is_known_sync(stx: SyncTx, server: str) -> bool:
    """The server had its history horizon recorded, or holds a registry row or a round (an install
    older than this table, or files seen since): its first listing is long past."""
    for sql in (
        "SELECT 1 FROM history_imports WHERE server = ?",
        "SELECT 1 FROM processed_files WHERE server = ? LIMIT 1",
        "SELECT 1 FROM rounds WHERE server = ? LIMIT 1",
    ):
        if stx.fetchone(sql, (server,)) is not None:
            return True
    return False


def start_sync(stx: SyncTx, server: str, *, until: str, now: float) -> None:
    """Record a new server's history horizon; rounds played up to `until` are imported without posts.
    `until` '' (an empty first listing): nothing is history, and nothing will be summarised."""
    stx.execute(
        "INSERT INTO history_imports(server, until, started_at, announced_at) VALUES (?, ?, ?, ?)",
        (server, until, now, None if until else now),
    )
    if until:
        quiet = _quiet_until_sync(stx)
        quiet[server] = max(until, quiet.get(server, ""))
        stx.execute("UPDATE instance SET quiet_until = ? WHERE id = 1", (json.dumps(quiet, sort_keys=True),))


def _quiet_until_sync(stx: SyncTx) -> dict[str, str]:
    row = stx.fetchone("SELECT quiet_until FROM instance WHERE id = 1")
    if row is None or row[0] is None:
        return {}
    value = json.loads(row[0])
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def finish_sync(stx: SyncTx, now: float) -> list[HistoryDone]:
    """The servers whose history is now all imported (no file of their first listing, recorded with
    `first_seen_at` = the horizon's `started_at`, is waiting for download, import or a retry, unless
    the server no longer has it), marked announced in the caller's transaction: each is returned once,
    ever. One query when nothing is pending (the usual case)."""
    pending = stx.fetchall("SELECT server, until, started_at FROM history_imports WHERE announced_at IS NULL")
    done: list[HistoryDone] = []
    marks = ",".join("?" * len(_NOT_FINAL))
    for server, until, started_at in pending:
        waiting = stx.fetchone(
            f"SELECT 1 FROM processed_files WHERE server = ? AND state IN ({marks}) "
            "AND first_seen_at <= ? AND remote_gone_at IS NULL LIMIT 1",
            (server, *_NOT_FINAL, started_at),
        )
        if waiting is not None:
            continue
        row = stx.fetchone(
            "SELECT count(*), min(played_at), max(played_at) FROM rounds WHERE server = ? AND played_at <= ?",
            (server, until),
        )
        assert row is not None
        stx.execute("UPDATE history_imports SET announced_at = ? WHERE server = ?", (now, server))
        done.append(HistoryDone(str(server), int(row[0]), row[1], row[2]))
    return done


async def horizon_of(db: Reader, server: str) -> str | None:
    """The server's recorded history horizon ('' when its first listing held no stats file), None when
    it was never listed since this table exists."""
    row = await db.fetchone("SELECT until FROM history_imports WHERE server = ?", (server,))
    return None if row is None else str(row[0])
