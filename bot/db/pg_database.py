"""`Database` on PostgreSQL: the same API as the SQLite one (transactions, calls, reads, close).

One psycopg connection on one worker thread for the writer (whole transactions submitted as one call,
as on SQLite), and a second read-only connection on its own thread for chat and web reads. There is
no instance lock file: several processes (two daemons for high availability, operators' commands) may
open the same database; writers serialise on PostgreSQL itself (bot/db/pg_engine.py WRITER_LOCK_KEY)
and only the leader polls, imports and posts (bot/db/leadership.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import structlog

from bot.db import continuity as cont
from bot.db import loss_check, pg_engine
from bot.db.connection import Database
from bot.db.fencing import Fence
from bot.db.tx import EngineError, Params, SyncTx, Uncounted, fetchall_on, fetchone_on
from bot.errors import DatabaseError

log = structlog.get_logger(__name__)

# Every instance refreshes its never-forget record this often from the database, besides after its own
# commits: a standby commits nothing, and its record must not stay days behind the leader's imports.
RECORD_REFRESH_SECONDS = 60.0

P = ParamSpec("P")
T = TypeVar("T")


def redacted(url: str) -> str:
    """The URL without its password (in the user part or a `password=` parameter), for logs and messages."""
    head, sep, rest = url.partition("://")
    rest, q, query = rest.partition("?")
    if q:
        kept = [p for p in query.split("&") if p.split("=", 1)[0].lower() != "password"]
        query = "&".join([*kept, "password=***"] if len(kept) < len(query.split("&")) else kept)
        q = "?" if query else ""
    creds, at, host = rest.rpartition("@")
    if at and ":" in creds:
        rest = f"{creds.split(':', 1)[0]}:***@{host}"
    return f"{head}{sep}{rest}{q}{query}"


class _Thread:
    """One worker thread that owns one psycopg connection (psycopg connections are not shared)."""

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def stop(self) -> None:
        self._executor.shutdown(wait=True)


class PgReadConnection:
    """Reads for chat and web: own read-only connection, own thread; never waits for the writer."""

    def __init__(self, url: str, conn: Any, thread: _Thread) -> None:
        self.path = redacted(url)
        self._conn: Any = conn
        self._thread = thread
        self._stx = pg_engine.PgSyncTx(self, conn)
        self.statements = 0

    @classmethod
    async def open(cls, url: str, name: str) -> PgReadConnection:
        thread = _Thread("pg-read")
        try:
            conn = await thread.submit(pg_engine.connect, url, application_name=name, read_only=True)
        except BaseException:
            thread.stop()
            raise
        return cls(url, conn, thread)

    async def call(self, fn: Callable[Concatenate[SyncTx, P], T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        if self._conn is None:
            raise DatabaseError(f"read connection to {self.path} is closed")
        return await self._thread.submit(fn, self._stx, *args, **kwargs)

    async def call_here(
        self, fn: Callable[Concatenate[SyncTx, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """SQLite answers short reads on the calling thread (bot/db/reads.py); a PostgreSQL query is a
        network round trip, which must never block the event loop: the read thread answers."""
        return await self.call(fn, *args, **kwargs)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Any]:
        return await self.call(fetchall_on, sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> Any:
        return await self.call(fetchone_on, sql, params)

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                await self._thread.submit(conn.close)
            await asyncio.to_thread(self._thread.stop)


class PgDatabase(Database):
    """The writer's connection to a PostgreSQL database (see the module doc)."""

    def __init__(
        self, url: str, conn: Any, thread: _Thread, *, application_name: str, synchronous_commit: bool = True
    ) -> None:
        # Database.__init__ wires an aiosqlite connection; the attributes its methods use are set here.
        self.url = url
        self.path = Path(redacted(url))  # messages only: there is no file
        self.application_name = application_name
        self._aconn = None
        self._conn = cast(Any, conn)
        self._thread = thread
        self._submit = thread.submit
        self._stx = self._pg_stx = pg_engine.PgSyncTx(self, conn)
        self._record_stx = pg_engine.PgSyncTx(Uncounted(), conn)  # unfenced, uncounted: the record's reads
        self._site: cont.Site | None = None  # set when this process keeps the record (continuity given)
        self._refresh_task: asyncio.Task[None] | None = None
        self._record_behind = False  # logged once: the database fell behind the record while running
        self.synchronous_commit = synchronous_commit
        self._lock_fd = None
        self._lock = asyncio.Lock()
        self._owner = None
        self.statements = 0
        self._keeps_record = False
        self._record_dirty = False
        self._record_task = None
        self.checked_at = None
        self.check_deferred = False
        self.damaged = False
        self._reads = None

    @property
    def engine(self) -> str:
        return "postgresql"

    @property
    def where(self) -> str:
        return redacted(self.url)

    @classmethod
    async def open_url(
        cls,
        url: str,
        *,
        continuity: cont.Continuity | None = None,
        application_name: str = "statsbot",
        copying: bool = False,
        synchronous_commit: bool = True,
        create: bool = True,
    ) -> PgDatabase:
        """Connect, create the compat functions and apply the PostgreSQL migrations (one transaction
        each; a schema newer than this code is refused), then open the read connection.

        A database that `statsbot db migrate` is still filling (its progress record is there: the copy
        was interrupted) is refused, unless `copying` (that command itself): the daemon would import and
        post again every file the copy has not reached yet.

        `synchronous_commit=False`: this writer's commits return before their WAL reaches the disk
        (SET synchronous_commit = off, this connection only; config `[database] synchronous_commit`,
        docs/OPERATIONS.md). Still atomic and in order; a crash of the PostgreSQL server may lose the
        last ones, which are then imported again.

        `create=False` (the commands that only read) refuses a database without statsbot's schema rather
        than create it there: a wrong `[database] url` must not leave statsbot's tables in another database.
        """
        from bot.db.pg_migrations import apply_pg_migrations, current_version

        thread = _Thread("pg-write")
        try:
            conn = await thread.submit(
                pg_engine.connect,
                url,
                application_name=application_name,
                synchronous_commit=synchronous_commit,
            )
        except EngineError as exc:
            thread.stop()
            # Every command and the daemon say it in one line, the URL without its password.
            raise DatabaseError(f"database unreachable at {redacted(url)} (password hidden): {exc}") from None
        except BaseException:
            thread.stop()
            raise
        db = cls(url, conn, thread, application_name=application_name, synchronous_commit=synchronous_commit)
        try:
            if not create and await thread.submit(current_version, conn) == 0:
                raise DatabaseError(missing_message(url))
            await thread.submit(pg_engine.apply_compat, conn)
            version = await thread.submit(apply_pg_migrations, conn)
            if not copying:
                await thread.submit(_refuse_unfinished_copy, conn, redacted(url))
            if continuity is not None:
                site = db.record_site(continuity)
                await thread.submit(loss_check.check, db._record_stx, site, continuity)
                db._site, db._keeps_record = site, True
                db._refresh_task = asyncio.create_task(db._refresh_record(), name="db:record_refresh")
            db._reads = cast(Any, await PgReadConnection.open(url, f"{application_name}-reads"))
        except BaseException:
            await db.close()
            raise
        # The check PostgreSQL leaves to statsbot is that the server answers (bot/ops/dbcheck.py): it just
        # did, on both connections. Recorded, so the daemon's health line says "passed", not "pending"
        # until the first scheduled check six hours later.
        db.checked_at = time.time()
        log.info("db_opened", engine="postgresql", url=redacted(url), schema_version=version)
        return db

    @property
    def fence(self) -> Fence | None:
        return self._pg_stx.fence

    def bind_fence(self, fence: Fence | None, on_refused: Callable[[], None] | None = None) -> None:
        """Fence every writer transaction from now on (the leader's), or stop fencing (None: operators'
        commands, an instance not leading). A transaction whose fence fails raises NotLeader before
        anything is written (bot/db/pg_engine.py PgSyncTx.begin) and calls `on_refused` on the event
        loop (the caller's loop), whoever catches the NotLeader."""
        callback = None
        if on_refused is not None:
            loop = asyncio.get_running_loop()

            def callback() -> None:
                loop.call_soon_threadsafe(on_refused)

        self._pg_stx.fence, self._pg_stx.on_refused = fence, callback

    async def barrier(self) -> None:
        """Wait until every call already handed to the writer thread has finished."""
        await self._thread.submit(lambda: None)

    def record_site(self, continuity: cont.Continuity) -> cont.Site:
        """Where this instance keeps the record of this database (its data_dir; bot/db/continuity.py)."""
        if continuity.data_dir is None:
            raise DatabaseError("the never-forget record of a PostgreSQL database needs [paths] data_dir")
        return cont.pg_site(
            self.url, redacted(self.url), continuity.data_dir, asynchronous_commit=not self.synchronous_commit
        )

    async def loss_refusal(self, continuity: cont.Continuity) -> str | None:
        site = self.record_site(continuity)
        async with self._lock:
            return await self._run(loss_check.refusal, self._record_stx, site, continuity)

    async def _refresh_record(self) -> None:
        while True:
            await asyncio.sleep(RECORD_REFRESH_SECONDS)
            self._record_dirty = True
            await self.write_record()

    async def write_record(self) -> bool:
        """Rewrite the record if a commit (or the refresh) happened since the last time: the marks are read
        under the lock, the WAL flush (asynchronous commits only) is awaited on the read connection and
        the file written outside it. Never lowers the record (cont.persist_pg): a database found behind it
        is logged once as `db_record_behind` and the record kept, so that the next start refuses."""
        site = self._site
        if not self._record_dirty or self._conn is None or site is None:
            return True
        self._record_dirty = False
        try:
            async with self._lock:
                marks = await self._run(cont.read_marks, self._record_stx, "postgresql")
                lsn = (
                    await self._run(cont.pg_insert_lsn, self._record_stx)
                    if site.asynchronous_commit
                    else None
                )
            if lsn is not None:
                await self._wait_flushed(lsn)
            await asyncio.to_thread(cont.persist_pg, site, marks)
        except cont.RecordAhead as exc:
            if not self._record_behind:
                self._record_behind = True
                log.error("db_record_behind", record=str(site.record), error=str(exc))
            return True
        except (OSError, EngineError, DatabaseError) as exc:
            self._record_dirty = True
            log.warning("db_record_not_written", path=str(site.record), error=str(exc))
            return False
        self._record_behind = False
        return True

    async def _wait_flushed(self, lsn: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + cont.FLUSH_WAIT_SECONDS
        while not (row := await self.reads.fetchone(cont.PG_FLUSHED_SQL, (lsn,))) or not row[0]:
            if loop.time() > deadline:
                raise DatabaseError(f"PostgreSQL has not flushed its WAL up to {lsn} yet")
            await asyncio.sleep(0.05)

    async def integrity_check(self) -> list[str]:
        """PostgreSQL checks its own pages (and data checksums where enabled); a round trip proves the
        server answers. The orphan and count checks of `db check` run on both engines."""
        await self.fetchone("SELECT 1")
        return ["ok"]

    async def quick_check(self) -> list[str]:
        """PostgreSQL checks its own pages: the check is that the server answers on the read connection
        (raises EngineError when it does not). `statsbot db check` runs the logical checks."""
        await self.reads.fetchone("SELECT 1")
        return ["ok"]

    async def backup(self, dest: Path) -> None:
        """pg_dump (custom format) into `dest`; restore with pg_restore (docs/OPERATIONS.md)."""
        dump = shutil.which("pg_dump")
        if dump is None:
            raise DatabaseError("pg_dump is not installed: install postgresql-client to back up PostgreSQL")
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        proc = await asyncio.create_subprocess_exec(
            dump, "--format=custom", f"--file={part}", "--dbname", self.url,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await proc.communicate()
        if proc.returncode != 0:
            part.unlink(missing_ok=True)
            raise DatabaseError(f"pg_dump failed ({proc.returncode}): {err.decode(errors='replace').strip()}")
        part.replace(dest)
        log.info("db_backup_written", path=str(dest), engine="postgresql")

    async def close(self) -> None:
        for task in (self._refresh_task, self._record_task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._refresh_task = self._record_task = None
        # The last state, commits or not (a standby's record catches up with the leader's imports); a
        # failure leaves the record behind, which is safe.
        self._record_dirty = self._site is not None
        with contextlib.suppress(Exception):
            await self.write_record()
        if self._reads is not None:
            reads, self._reads = self._reads, None
            await reads.close()
        if self._conn is not None:
            async with self._lock:
                conn, self._conn = self._conn, None
                with contextlib.suppress(Exception):
                    await self._thread.submit(conn.close)
            await asyncio.to_thread(self._thread.stop)


def missing_message(url: str) -> str:
    """What the commands that only read say about a database without statsbot's schema."""
    return (
        f"no statsbot database at {redacted(url)} (password hidden): it holds no statsbot schema (check "
        "[database] url; `statsbot run` creates it, `statsbot db migrate --to` fills it from SQLite)"
    )


def _refuse_unfinished_copy(conn: Any, where: str) -> None:
    from bot.db.table_copy import MARKER

    row = conn.execute(f"SELECT to_regclass('{MARKER}') IS NOT NULL").fetchone()
    if row is not None and row[0]:
        raise DatabaseError(
            f"{where}: `statsbot db migrate` has not finished copying into this database (the copy was "
            "interrupted, or its verification failed): run the same `statsbot db migrate --to …` again "
            "to finish it before statsbot uses this database"
        )
