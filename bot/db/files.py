"""Registry SQL: `processed_files` (one row per (server, file name)) and its `file_events` history."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from bot.db.connection import Reader, SyncTx, as_async
from bot.db.file_states import FINAL_STATES as FINAL_STATES
from bot.db.file_states import STATES as STATES
from bot.db.file_states import TransitionRefused as TransitionRefused
from bot.db.file_states import sources_of

_COLUMNS = (
    "server, filename, size, mtime, sha256, state, attempts, last_error, next_attempt_at, "
    "first_seen_at, updated_at, round_id"
)


class _Unset:
    """Marker for set_state keywords that were not given: the column keeps its value."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


@dataclass(frozen=True, slots=True)
class FileRow:
    """One `processed_files` row."""

    server: str
    filename: str
    size: int | None
    mtime: int | None
    sha256: str | None
    state: str
    attempts: int
    last_error: str | None
    next_attempt_at: float | None
    first_seen_at: float
    updated_at: float
    round_id: int | None

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES


@dataclass(frozen=True, slots=True)
class FileEvent:
    """One `file_events` row: a step of a file's journey."""

    id: int
    at: float
    event: str
    detail: dict[str, Any]


def _row(r: sqlite3.Row) -> FileRow:
    return FileRow(*tuple(r))


async def load_final_keys(db: Reader) -> dict[tuple[str, str], tuple[int | None, int | None, str]]:
    """(server, filename) → (size, mtime, state) of every file in a final state. ONE query (memory layer)."""
    rows = await db.fetchall(
        "SELECT server, filename, size, mtime, state FROM processed_files "
        "WHERE state IN ('imported', 'duplicate', 'ignored', 'quarantined')"
    )
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


def get_row_sync(stx: SyncTx, server: str, filename: str) -> FileRow | None:
    """One file's registry row, or None if it was never seen."""
    r = stx.fetchone(
        f"SELECT {_COLUMNS} FROM processed_files WHERE server = ? AND filename = ?", (server, filename)
    )
    return None if r is None else _row(r)


get_row = as_async(get_row_sync)


def get_rows_sync(stx: SyncTx, server: str, filenames: Iterable[str]) -> dict[str, FileRow]:
    """Registry rows of many files of one server in ONE query (names passed as a JSON array)."""
    names = list(filenames)
    if not names:
        return {}
    rows = stx.fetchall(
        f"SELECT {_COLUMNS} FROM processed_files "
        "WHERE server = ? AND filename IN (SELECT value FROM json_each(?))",
        (server, json.dumps(names)),
    )
    return {r["filename"]: _row(r) for r in rows}


get_rows = as_async(get_rows_sync)


async def rows_in_state(db: Reader, state: str, server: str | None = None) -> list[FileRow]:
    """All rows in `state` (optionally of one server), oldest first."""
    if state not in STATES:
        raise ValueError(f"unknown file state {state!r}")
    sql = f"SELECT {_COLUMNS} FROM processed_files WHERE state = ?"
    params: list[Any] = [state]
    if server is not None:
        sql += " AND server = ?"
        params.append(server)
    return [_row(r) for r in await db.fetchall(sql + " ORDER BY first_seen_at, filename", params)]


async def due_retries(db: Reader, server: str, now: float) -> list[FileRow]:
    """Failed files of `server` whose backoff has expired (next_attempt_at <= now)."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM processed_files WHERE server = ? AND state = 'failed' "
        "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY filename",
        (server, now),
    )
    return [_row(r) for r in rows]


async def count_by_state(db: Reader, server: str | None = None) -> dict[str, int]:
    """Number of files per state (diagnose, health)."""
    if server is None:
        rows = await db.fetchall("SELECT state, count(*) FROM processed_files GROUP BY state")
    else:
        rows = await db.fetchall(
            "SELECT state, count(*) FROM processed_files WHERE server = ? GROUP BY state", (server,)
        )
    return {r[0]: int(r[1]) for r in rows}


def record_seen_sync(stx: SyncTx, server: str, entries: Sequence[tuple[str, int, int]], now: float) -> int:
    """Register newly listed files (filename, size, mtime) as 'seen'; known names are left alone.

    Only ever (no row) -> seen, the one entry bot.db.file_states allows for it: batched here because a
    listing may bring thousands; every change of an existing row's state goes through `set_state_sync`.

    Returns how many rows were new. Three statements whatever the number of entries.
    """
    if not entries:
        return 0
    known = stx.fetchall(
        "SELECT filename FROM processed_files WHERE server = ? "
        "AND filename IN (SELECT value FROM json_each(?))",
        (server, json.dumps([e[0] for e in entries])),
    )
    known_names = {r[0] for r in known}
    fresh = {e[0]: e for e in entries if e[0] not in known_names}  # a name listed twice counts once
    if not fresh:
        return 0
    stx.executemany(
        "INSERT INTO processed_files(server, filename, size, mtime, state, first_seen_at, "
        "updated_at) VALUES (?, ?, ?, ?, 'seen', ?, ?) ON CONFLICT DO NOTHING",
        [(server, name, size, mtime, now, now) for name, size, mtime in fresh.values()],
    )
    stx.executemany(
        "INSERT INTO file_events(server, filename, at, event, detail) VALUES (?, ?, ?, 'seen', ?)",
        [
            (server, name, now, json.dumps({"size": size, "mtime": mtime}))
            for name, size, mtime in fresh.values()
        ],
    )
    return len(fresh)


record_seen = as_async(record_seen_sync)


def set_state_sync(
    stx: SyncTx,
    server: str,
    filename: str,
    state: str,
    *,
    now: float,
    size: int | _Unset | None = UNSET,
    mtime: int | _Unset | None = UNSET,
    sha256: str | _Unset | None = UNSET,
    attempts: int | _Unset = UNSET,
    last_error: str | _Unset | None = UNSET,
    next_attempt_at: float | _Unset | None = UNSET,
    round_id: int | _Unset | None = UNSET,
) -> None:
    """Set a file's state (creating the row if needed); keywords left UNSET keep their stored value.

    The one writer of a state change: a change bot.db.file_states does not allow raises
    TransitionRefused and writes nothing. One statement (the check is its WHERE; a refusal costs one
    more to name the state). Record the matching file_events row with `add_event` in the same transaction.
    """
    if state not in STATES:
        raise ValueError(f"unknown file state {state!r}")
    given: dict[str, object] = {
        name: value
        for name, value in (
            ("size", size),
            ("mtime", mtime),
            ("sha256", sha256),
            ("attempts", attempts),
            ("last_error", last_error),
            ("next_attempt_at", next_attempt_at),
            ("round_id", round_id),
        )
        if not isinstance(value, _Unset)
    }
    columns = ["server", "filename", "state", "first_seen_at", "updated_at", *given]
    values = [server, filename, state, now, now, *given.values()]
    updates = ", ".join(f"{c} = excluded.{c}" for c in ["state", "updated_at", *given])
    sources = sources_of(state)
    written = stx.execute(
        f"INSERT INTO processed_files({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        f"ON CONFLICT(server, filename) DO UPDATE SET {updates} "
        f"WHERE processed_files.state IN ({', '.join('?' * len(sources))})",
        [*values, *sources],
    )
    if written.rowcount == 0:
        row = stx.fetchone(
            "SELECT state FROM processed_files WHERE server = ? AND filename = ?", (server, filename)
        )
        raise TransitionRefused(server, filename, None if row is None else str(row[0]), state)


def add_event_sync(
    stx: SyncTx, server: str, filename: str, event: str, detail: Mapping[str, object], now: float
) -> None:
    """Append one step to a file's history (`statsbot explain`)."""
    stx.execute(
        "INSERT INTO file_events(server, filename, at, event, detail) VALUES (?, ?, ?, ?, ?)",
        (server, filename, now, event, json.dumps(dict(detail), sort_keys=True, default=str)),
    )


set_state = as_async(set_state_sync)
add_event = as_async(add_event_sync)


async def events_for(db: Reader, server: str, filename: str) -> list[FileEvent]:
    """A file's whole history, oldest first."""
    rows = await db.fetchall(
        "SELECT id, at, event, detail FROM file_events WHERE server = ? AND filename = ? ORDER BY id",
        (server, filename),
    )
    return [FileEvent(r[0], r[1], r[2], json.loads(r[3])) for r in rows]


def rounds_for_files_sync(stx: SyncTx, server: str, filenames: Iterable[str]) -> dict[str, int]:
    """filename → id of the round imported from it, for those of `filenames` that have one. ONE query
    (registry layer 4 for all never-seen names of a listing)."""
    names = list(filenames)
    if not names:
        return {}
    rows = stx.fetchall(
        "SELECT filename, id FROM rounds WHERE server = ? AND filename IN (SELECT value FROM json_each(?))",
        (server, json.dumps(names)),
    )
    return {r[0]: int(r[1]) for r in rows}


rounds_for_files = as_async(rounds_for_files_sync)


@dataclass(frozen=True, slots=True)
class ImportedContent:
    """Where a content hash was imported."""

    server: str
    filename: str
    round_id: int


def imported_by_sha_sync(stx: SyncTx, sha256: str) -> ImportedContent | None:
    """The round imported with exactly this content (any server, any name), if any."""
    r = stx.fetchone("SELECT server, filename, id FROM rounds WHERE sha256 = ?", (sha256,))
    return None if r is None else ImportedContent(r[0], r[1], int(r[2]))


imported_by_sha = as_async(imported_by_sha_sync)


def imported_by_shas_sync(stx: SyncTx, hashes: Iterable[str]) -> dict[str, ImportedContent]:
    """imported_by_sha for many hashes in ONE query: sha256 → where it was imported (found ones only)."""
    wanted = list(hashes)
    if not wanted:
        return {}
    rows = stx.fetchall(
        "SELECT sha256, server, filename, id FROM rounds WHERE sha256 IN (SELECT value FROM json_each(?))",
        (json.dumps(wanted),),
    )
    return {r[0]: ImportedContent(r[1], r[2], int(r[3])) for r in rows}
