"""The read-only connection for chat and web reads: its own sqlite3 connection on its own thread.

In WAL mode a reader sees the last committed snapshot and never takes the write lock, so a slow chat
query never delays an import's transaction, and an import never delays a chat answer (the writer's
`Database` serialises everything on one thread behind one lock: reads there would queue behind it).

`call_here` is for the few reads that are short by construction and asked per keystroke (the name
autocomplete: index walks, about a millisecond): they run right on the calling (event loop) thread
over a second read-only connection. On a busy machine the hop to the read thread and back (two
wake-ups, each waiting for a core) cost more than the query itself: 4-5 ms of a 5 ms answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import aiosqlite

from bot.db.tx import Params, SyncTx, fetchall_on, fetchone_on
from bot.errors import DatabaseError

P = ParamSpec("P")
T = TypeVar("T")
HERE_BUSY_MS = 100  # call_here: the longest the event loop may wait for a busy database


class ReadConnection:
    """Reader over a `mode=ro` connection: fetchall / fetchone / call, never a write."""

    def __init__(self, path: Path, aconn: aiosqlite.Connection) -> None:
        self.path = path
        self._aconn: aiosqlite.Connection | None = aconn
        self._submit: Callable[..., Awaitable[Any]] = aconn._execute
        self._stx = SyncTx(self, aconn._conn)
        self._here: sqlite3.Connection | None = None  # call_here's connection, opened on first use
        self._here_stx: SyncTx | None = None
        self.statements = 0

    @classmethod
    async def open(cls, path: Path) -> ReadConnection:
        """Open a read-only connection to an existing (migrated, WAL-mode) database."""
        conn = await asyncio.to_thread(_connect_ro, Path(path))
        aconn = aiosqlite.Connection(lambda: conn, iter_chunk_size=64)
        await aconn
        return cls(Path(path), aconn)

    async def call(self, fn: Callable[Concatenate[SyncTx, P], T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a synchronous read helper on the read thread (one hop for all its statements)."""
        if self._aconn is None:
            raise DatabaseError(f"read connection to {self.path} is closed")
        result: T = await self._submit(fn, self._stx, *args, **kwargs)
        return result

    async def call_here(
        self, fn: Callable[Concatenate[SyncTx, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run a SHORT read helper on the calling thread (no hop), over its own read-only connection.

        Only for helpers bounded to about a millisecond: the caller's event loop waits meanwhile. SQLite
        busy (rare for a WAL reader) is waited for HERE_BUSY_MS at most.
        """
        if self._aconn is None:
            raise DatabaseError(f"read connection to {self.path} is closed")
        if self._here_stx is None:
            self._here = _connect_ro(self.path, busy_ms=HERE_BUSY_MS)
            self._here_stx = SyncTx(self, self._here)
        return fn(self._here_stx, *args, **kwargs)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return await self.call(fetchall_on, sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        return await self.call(fetchone_on, sql, params)

    async def close(self) -> None:
        if self._here is not None:
            here, self._here, self._here_stx = self._here, None, None
            here.close()
        if self._aconn is not None:
            aconn, self._aconn = self._aconn, None
            await aconn.close()


def _connect_ro(path: Path, *, busy_ms: int = 5000) -> sqlite3.Connection:
    # check_same_thread=False: opened here, used on aiosqlite's thread only (one thread at a time).
    conn = sqlite3.connect(
        f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    with contextlib.suppress(sqlite3.Error):
        conn.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
        conn.execute("PRAGMA query_only=ON")
    return conn
