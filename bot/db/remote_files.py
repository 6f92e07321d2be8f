"""Registry SQL about the server side of a file: deletions noticed or made, where a file came from, and
the imported content's size (what `diagnose`, the poller and retention compare a listing with)."""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from bot.db.connection import Reader, SyncTx, as_async
from bot.db.files import add_event_sync, set_state_sync

GONE_BY: Final = ("server", "retention", "operator")
# Events that prove a file was on a game server at some point (listed by the daemon, deleted there), and
# downloads, unless `sync` took the file from local_stats/ (its detail says via "sync (local_stats)").
_FROM_SERVER_EVENTS: Final = ("seen", "remote_gone", "retention_delete_remote")


def mark_gone_sync(stx: SyncTx, server: str, names: Mapping[str, str], now: float) -> int:
    """Record files no longer on the server: name -> who deleted it ('server' | 'retention' | 'operator').

    A row already marked keeps its first date; its cause only becomes more precise: a listing that finds
    a file gone ('server') never overwrites retention's own deletion or an operator's acceptance (the
    daemon's listing may see a file retention deleted moments before). Each change gets a `remote_gone`
    event. Returns how many rows changed.
    """
    changed = 0
    for name, by in names.items():
        if by not in GONE_BY:
            raise ValueError(f"unknown remote_gone_by {by!r}")
        res = stx.execute(
            "UPDATE processed_files SET remote_gone_at = coalesce(remote_gone_at, ?), remote_gone_by = ? "
            "WHERE server = ? AND filename = ? "
            "AND (remote_gone_at IS NULL OR (? != 'server' AND remote_gone_by IS NOT ?))",
            (now, by, server, name, by, by),
        )
        if res.rowcount:
            changed += 1
            add_event_sync(stx, server, name, "remote_gone", {"by": by}, now)
    return changed


def mark_back_sync(stx: SyncTx, server: str, names: Iterable[str], now: float) -> int:
    """Files listed again after they were recorded gone: the mark is cleared, a `remote_back` event kept."""
    changed = 0
    for name in names:
        res = stx.execute(
            "UPDATE processed_files SET remote_gone_at = NULL, remote_gone_by = NULL "
            "WHERE server = ? AND filename = ? AND remote_gone_at IS NOT NULL",
            (server, name),
        )
        if res.rowcount:
            changed += 1
            add_event_sync(stx, server, name, "remote_back", {}, now)
    return changed


mark_gone = as_async(mark_gone_sync)
mark_back = as_async(mark_back_sync)


def gone_names_sync(stx: SyncTx, server: str) -> dict[str, str]:
    """name -> remote_gone_by of every file of `server` recorded as no longer on it (partial index)."""
    rows = stx.fetchall(
        "SELECT filename, remote_gone_by FROM processed_files "
        "WHERE server = ? AND remote_gone_at IS NOT NULL",
        (server,),
    )
    return {str(r[0]): str(r[1] or "server") for r in rows}


gone_names = as_async(gone_names_sync)


def came_from_server_sync(stx: SyncTx, server: str, names: Iterable[str]) -> set[str]:
    """Those of `names` the daemon ever saw on the server (listed, downloaded, deleted): ONE query.

    A file imported with `statsbot import` from a folder elsewhere has none of these events.
    """
    wanted = list(names)
    if not wanted:
        return set()
    rows = stx.fetchall(
        "SELECT DISTINCT filename FROM file_events WHERE server = ? "
        "AND filename IN (SELECT value FROM json_each(?)) AND (event IN (SELECT value FROM json_each(?)) "
        "OR (event = 'downloaded' AND instr(detail, 'local_stats') = 0))",
        (server, json.dumps(wanted), json.dumps(list(_FROM_SERVER_EVENTS))),
    )
    return {str(r[0]) for r in rows}


came_from_server = as_async(came_from_server_sync)


@dataclass(frozen=True, slots=True)
class StoredContent:
    """The bytes a round was imported from, as stored with it (rounds.raw_content)."""

    round_id: int
    sha256: str  # the hash recorded at import
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def intact(self) -> bool:
        """The stored bytes still hash to the recorded sha256."""
        return hashlib.sha256(self.data).hexdigest() == self.sha256


def stored_content_sync(stx: SyncTx, server: str, filename: str) -> StoredContent | None:
    """The stored content of the round imported from this file, or None when there is no such round."""
    r = stx.fetchone(
        "SELECT id, sha256, raw_content FROM rounds WHERE server = ? AND filename = ?", (server, filename)
    )
    return None if r is None else StoredContent(int(r[0]), str(r[1]), zlib.decompress(r[2]))


stored_content = as_async(stored_content_sync)


async def stored_sizes(db: Reader, server: str, names: Iterable[str]) -> dict[str, int]:
    """filename -> size of the content its round was imported from (decompressed), for those with a round."""
    wanted = list(names)
    if not wanted:
        return {}
    rows = await db.fetchall(
        "SELECT filename, raw_content FROM rounds "
        "WHERE server = ? AND filename IN (SELECT value FROM json_each(?))",
        (server, json.dumps(wanted)),
    )
    return {str(r[0]): len(zlib.decompress(r[1])) for r in rows}


def repair_from_round_sync(
    stx: SyncTx, server: str, filename: str, *, size: int, mtime: int, now: float
) -> int | None:
    """Registry layer 4: a round exists for the listed file but no registry row. When the listed size is
    the imported content's, the row is written complete (size and mtime from the listing, sha256 of the
    stored content) with a `repaired` event and the round id returned. None when there is no round or the
    server's file differs from what was imported (the caller sends it down the changed-file path)."""
    stored = stored_content_sync(stx, server, filename)
    if stored is None or stored.size != size:
        return None
    set_state_sync(
        stx, server, filename, "imported", now=now, size=size, mtime=mtime, sha256=stored.sha256,
        round_id=stored.round_id, last_error=None, next_attempt_at=None,
    )  # fmt: skip
    add_event_sync(
        stx, server, filename, "repaired", {"round_id": stored.round_id, "size": size, "mtime": mtime}, now
    )
    return stored.round_id


repair_from_round = as_async(repair_from_round_sync)
