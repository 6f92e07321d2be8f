"""The one SQLite connection: open (lock, health check, migrations), transactions, reads, backup, close.

All SQL runs on aiosqlite's ONE worker thread that owns the sqlite3 connection. aiosqlite's public API
costs a thread hop per statement (about 19 per import: measured 160 files/s), so whole transactions are
submitted to that same thread as one call (`run_transaction`, `Tx.call`): ~650 files/s. That uses
aiosqlite's `Connection._execute` (private), which is why aiosqlite is pinned to <0.23 and covered by tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Self, TypeVar

import aiosqlite
import structlog

from bot.db import continuity as cont
from bot.db import loss_check
from bot.db.dialect import is_postgresql_url
from bot.db.health import (
    acquire_lock,
    check_or_move_aside,
    release_lock,
    take_clean_marker,
    write_clean_marker,
)
from bot.db.migrations_runner import apply_migrations
from bot.db.reads import ReadConnection
from bot.db.tx import (
    ExecResult,
    Params,
    Reader,
    SyncTx,
    Tx,
    Uncounted,
    as_async,
    begin_on,
    commit_on,
    execute_on,
    fetchall_on,
    fetchone_on,
    in_transaction,
    rollback_on,
)
from bot.errors import DatabaseError

log = structlog.get_logger(__name__)

__all__ = ["Database", "ExecResult", "Params", "Reader", "SyncTx", "Tx", "as_async"]

P = ParamSpec("P")
T = TypeVar("T")

RECORD_DELAY_SECONDS = 0.5  # a backfill of 5,000 files rewrites the record a few times, not 5,000
RECORD_RETRY_SECONDS = 30.0

# synchronous=NORMAL in WAL mode: a commit survives an application crash; after a power loss the last
# commits may roll back. Acceptable because a file's state and its data are written in the SAME
# transaction: a lost commit only means the file is imported again on the next poll, still exactly once
# (posts already sent for a lost commit would be sent again — the lesser evil against an fsync per file).
# A start after a clean shutdown skips the full check at start (the daemon runs it in the background)
# only if the last full check that passed is younger than this; else it runs at start, as after a crash.
CHECK_MAX_AGE_SECONDS = 24 * 3600.0

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
)


class Database:
    """One sqlite3 connection on one worker thread, shared by the whole process."""

    def __init__(
        self,
        path: Path,
        aconn: aiosqlite.Connection,
        lock_fd: int | None,
        *,
        checked_at: float | None = None,
        check_deferred: bool = False,
    ):
        self.path = path
        self._aconn: aiosqlite.Connection | None = aconn
        self._conn: sqlite3.Connection | None = aconn._conn
        # aiosqlite's queue onto its worker thread; typed here because aiosqlite leaves it unannotated.
        self._submit: Callable[..., Awaitable[Any]] = aconn._execute
        self._stx = SyncTx(self, self._conn)
        self._record_stx = SyncTx(Uncounted(), self._conn)  # the record's statements (bot/db/continuity.py)
        self._lock_fd = lock_fd
        # A transaction belongs to the connection, not to a task: the lock keeps other tasks' statements
        # out of an open transaction (they would be committed or rolled back with it).
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self.statements = 0  # SQL statements executed (benchmarks assert O(1) per poll cycle)
        # The record of what this database holds (bot/db/continuity.py), kept by the lock holder only:
        # rewritten RECORD_DELAY_SECONDS after a commit, once for all the commits made meanwhile.
        self._keeps_record = False
        self._record_dirty = False
        self._record_task: asyncio.Task[None] | None = None
        self.checked_at = checked_at  # wall time the last full check passed (None: not known)
        self.check_deferred = check_deferred  # opened without the full check: it is owed (background)
        self.damaged = False  # a full check found damage: no clean-shutdown marker is written at close
        self._reads: ReadConnection | None = None

    @property
    def engine(self) -> str:
        """ "sqlite" or "postgresql" (bot/db/pg_database.py)."""
        return "sqlite"

    @property
    def where(self) -> str:
        """The database as an operator names it: the file here, the URL without password on PostgreSQL."""
        return str(self.path)

    @property
    def reads(self) -> ReadConnection:
        """The read-only connection (own thread, WAL snapshot) for chat and web reads: never waits for
        this connection's transactions, and never holds them up."""
        if self._reads is None:
            raise DatabaseError(f"database {self.path} is closed")
        return self._reads

    @classmethod
    async def open(
        cls,
        path: Path | str,
        *,
        lock: bool = True,
        continuity: cont.Continuity | None = None,
        defer_check: bool = False,
        synchronous_commit: bool = True,
        create: bool = True,
    ) -> Database:
        """Open (creating if needed) and migrate the database at `path`.

        Raises DatabaseError when another process holds the instance lock (`lock=False` skips it, for
        read-only tools), when the file is corrupt (moved aside as `<name>.corrupt-<UTC ts>`, never
        replaced silently) or when its schema is newer than this code. With `continuity` (the daemon and
        every command that writes) a database that is empty or behind the record of what it held is
        refused (DataLossError), and that record is kept up to date after commits.

        The full check (`PRAGMA quick_check`, reads the whole file: seconds on a large database) runs
        here unless `defer_check` and the previous run shut down cleanly (its marker, taken here so that
        a crash from now on leaves none) within CHECK_MAX_AGE_SECONDS of a passed check; then
        `check_deferred` is True and the caller owes the check (the daemon runs it in the background).
        A `postgresql://` URL opens the PostgreSQL backend instead (bot/db/pg_database.py): same API;
        `synchronous_commit=False` is for PostgreSQL only (config `[database] synchronous_commit`: SQLite
        always runs with synchronous=NORMAL, the same trade), and so is `create=False` (a database without
        statsbot's schema is refused, not created: the readers; on SQLite they check the file exists).
        """
        if is_postgresql_url(path):
            from bot.db.pg_database import PgDatabase

            return await PgDatabase.open_url(
                str(path), continuity=continuity, synchronous_commit=synchronous_commit, create=create
            )
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_fd = acquire_lock(path) if lock else None
        checked_at = take_clean_marker(path) if lock_fd is not None else None
        deferred = defer_check and checked_at is not None and time.time() - checked_at < CHECK_MAX_AGE_SECONDS
        # Health check and pragmas first, in a plain worker thread: when they fail (corrupt file) there
        # is no aiosqlite thread to stop yet (aiosqlite's own failure path leaves an un-awaited future).
        try:
            conn = await asyncio.to_thread(_connect, path, lock_fd is not None, not deferred)
        except BaseException:
            release_lock(lock_fd)
            raise
        if deferred:
            log.info("db_check_deferred", path=str(path), reason="clean shutdown", last_check_at=checked_at)
        else:
            checked_at = time.time()
        aconn = aiosqlite.Connection(lambda: conn, iter_chunk_size=64)
        await aconn
        db = cls(path, aconn, lock_fd, checked_at=checked_at, check_deferred=deferred)
        try:
            version = await db._run(apply_migrations, db._connection())
            if continuity is not None and lock:
                await db._run(loss_check.check, db._record_stx, cont.sqlite_site(path), continuity)
                db._keeps_record = True
            db._reads = await ReadConnection.open(path)
        except BaseException:
            await db.close()  # a refused or failed migration must not leak the thread, file or lock
            raise
        log.info("db_opened", path=str(path), schema_version=version)
        return db

    async def loss_refusal(self, continuity: cont.Continuity) -> str | None:
        """Why the daemon and the writing commands would refuse this database at start, or None (reads)."""
        async with self._lock:
            return await self._run(
                loss_check.refusal, self._record_stx, cont.sqlite_site(self.path), continuity
            )

    async def _run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        if self._conn is None:
            raise DatabaseError(f"database {self.path} is closed")
        result: T = await self._submit(fn, *args, **kwargs)
        return result

    def _in_own_transaction(self) -> bool:
        return self._owner is not None and self._owner is asyncio.current_task()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """`async with db.transaction() as tx:` — BEGIN IMMEDIATE … COMMIT, ROLLBACK on any exception.

        Never await network I/O inside: the lock is held for the whole block.
        """
        if self._in_own_transaction():
            raise DatabaseError("nested transaction: use the open Tx")
        async with self._lock:
            self._owner = asyncio.current_task()
            tx = Tx(self._run, self._stx)
            try:
                await self._run(begin_on, self._stx)
                try:
                    yield tx
                except BaseException:
                    await self._run(rollback_on, self._stx)
                    raise
                await self._run(commit_on, self._stx)
            finally:
                tx._open = False
                self._owner = None
        self._committed()

    async def run_transaction(
        self, fn: Callable[Concatenate[SyncTx, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn(stx, ...)` as ONE transaction on the worker thread: BEGIN, fn, COMMIT (ROLLBACK on error).

        Once started it completes even if the awaiting task is cancelled: a commit is never cut halfway.
        """
        if self._in_own_transaction():
            raise DatabaseError("nested transaction: use the open Tx")
        async with self._lock:
            result = await self._run(
                in_transaction, self._stx, functools.partial(fn, self._stx, *args, **kwargs)
            )
        self._committed()
        return result

    def _committed(self) -> None:
        """A commit happened: rewrite the record soon, once for every commit until then."""
        if not self._keeps_record:
            return
        self._record_dirty = True
        if self._record_task is None or self._record_task.done():
            self._record_task = asyncio.create_task(self._record_later(), name="db:record")

    async def _record_later(self) -> None:
        delay = RECORD_DELAY_SECONDS
        while self._record_dirty:
            await asyncio.sleep(delay)
            delay = RECORD_DELAY_SECONDS if await self.write_record() else RECORD_RETRY_SECONDS

    async def write_record(self) -> bool:
        """Rewrite the record now if a commit happened since the last time. A failure (disk full) is
        logged and retried later: the record then lags, which is safe (it claims less than is held)."""
        if not self._record_dirty or self._conn is None:
            return True
        self._record_dirty = False
        try:
            async with self._lock:
                marks = await self._run(cont.read_marks, self._record_stx)
            # The fsyncs and the rename run outside the lock: imports go on meanwhile.
            await asyncio.to_thread(cont.persist, self.path, marks)
        except (OSError, sqlite3.Error, DatabaseError) as exc:
            self._record_dirty = True
            log.warning("db_record_not_written", path=str(cont.record_path(self.path)), error=str(exc))
            return False
        return True

    async def call(self, fn: Callable[Concatenate[SyncTx, P], T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a synchronous read helper outside any transaction (waits for other tasks' transactions)."""
        if self._in_own_transaction():
            return await self._run(fn, self._stx, *args, **kwargs)
        async with self._lock:
            return await self._run(fn, self._stx, *args, **kwargs)

    async def execute(self, sql: str, params: Params = ()) -> ExecResult:
        """One write statement in its own short transaction (e.g. marking an outbox row sent)."""
        return await self.run_transaction(execute_on, sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        """Read rows; never sees another task's uncommitted rows."""
        return await self.call(fetchall_on, sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        return await self.call(fetchone_on, sql, params)

    async def integrity_check(self) -> list[str]:
        """`PRAGMA integrity_check` messages; `["ok"]` for a healthy database."""
        return [str(row[0]) for row in await self.fetchall("PRAGMA integrity_check")]

    async def quick_check(self) -> list[str]:
        """The daemon's and `statsbot health`'s check: `PRAGMA quick_check` on its own read-only connection
        in a thread (reads the whole file beside the writer); `["ok"]` when healthy. Raises driver errors."""
        from bot.db.ops_queries import quick_check_file

        return await asyncio.to_thread(quick_check_file, self.path)

    async def backup(self, dest: Path) -> None:
        """Copy the database with SQLite's online backup API into `dest` (written beside, then renamed)."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        part.unlink(missing_ok=True)
        async with self._lock:
            await self._run(_backup, self._connection(), part)
        os.replace(part, dest)
        log.info("db_backup_written", path=str(dest))

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise DatabaseError(f"database {self.path} is closed")
        return self._conn

    async def close(self) -> None:
        """PRAGMA optimize, close the connections, stop the worker threads, write the clean-shutdown
        marker (lock holder, no damage found), release the instance lock."""
        if self._reads is not None:
            reads, self._reads = self._reads, None
            await reads.close()
        task, self._record_task = self._record_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.write_record()
        if self._conn is not None and self._aconn is not None:
            async with self._lock:
                aconn = self._aconn
                try:
                    await self._run(_optimize, self._conn)
                finally:
                    self._conn = None
                    self._aconn = None
                    await aconn.close()  # closes the sqlite3 connection and stops the worker thread
            if self._lock_fd is not None and not self.damaged:
                # A full check still owed (deferred, never run) is owed by the next start too: same stamp.
                with contextlib.suppress(OSError):  # no marker: the next start simply checks in full
                    write_clean_marker(self.path, checked_at=self.checked_at)
        release_lock(self._lock_fd)
        self._lock_fd = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


# --- functions that run on the worker thread -------------------------------------------------------


def _connect(path: Path, holds_lock: bool, check: bool) -> sqlite3.Connection:
    conn = check_or_move_aside(path, holds_lock=holds_lock, check=check)
    conn.row_factory = sqlite3.Row
    for pragma in _PRAGMAS:
        conn.execute(pragma)
    return conn


def _backup(conn: sqlite3.Connection, part: Path) -> None:
    target = sqlite3.connect(part)
    try:
        conn.backup(target)
    finally:
        target.close()


def _optimize(conn: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        conn.execute("PRAGMA optimize")
