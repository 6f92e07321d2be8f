"""Leader election on PostgreSQL: a session advisory lock held on a dedicated connection, with a heartbeat.

Two `statsbot run` against one database: the one holding the lock polls, imports and drains the outbox;
the other waits in `acquire()`, trying the lock every `retry_seconds`. The lock is released by the
server when the holder's session ends, so a leader that dies (its socket closes) is replaced within
one retry. A leader whose host vanishes or freezes is cut off by the server: the dedicated session runs
with `idle_session_timeout` (the heartbeat keeps a live leader's session busy) and TCP keepalives, so
its lock is freed within `session_timeout_seconds`. The leader itself notices a dead connection at its
next heartbeat (`lost` is set, `leader_lost` logged); writer transactions are fenced in between
(bot/db/fencing.py).

Every blocking psycopg call runs on this object's own single worker thread, never on the event loop,
and every call is bounded: libpq's connect_timeout and tcp_user_timeout, the server's
statement_timeout, and a wait_for around each call. A call stuck past its bound is abandoned with its
thread and connection (closed by that thread once libpq gives up).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import psycopg
import structlog

from bot.db.fencing import Fence, LeaderKey
from bot.db.leadership_timing import LEADER_HEARTBEAT_SECONDS, LEADER_RETRY_SECONDS, session_timeout

log = structlog.get_logger(__name__)

T = TypeVar("T")

PgConnection = psycopg.Connection[tuple[Any, ...]]

_TRY_LOCK = """
SELECT pg_try_advisory_lock(%(namespace)s, %(objid)s), pg_backend_pid(),
       (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())
"""
_UNLOCK = "SELECT pg_advisory_unlock(%(namespace)s, %(objid)s)"


class Leadership:
    """Become and stay the one writer among the instances sharing a PostgreSQL database."""

    def __init__(
        self,
        url: str,
        *,
        instance: str,
        retry_seconds: float = LEADER_RETRY_SECONDS,
        heartbeat_seconds: float = LEADER_HEARTBEAT_SECONDS,
        connect_timeout_seconds: float = 5.0,
        session_timeout_seconds: float | None = None,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self.url = url
        self.instance = instance
        self.retry_seconds = retry_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.connect_timeout_seconds = connect_timeout_seconds
        # The server ends the dedicated session after this long without a statement: how long a frozen
        # or unreachable leader's lock outlives it.
        self.session_timeout_seconds = session_timeout_seconds or session_timeout(
            retry_seconds, heartbeat_seconds
        )
        self.lost = asyncio.Event()  # set when held leadership is lost (not on release)
        self.fence: Fence | None = None  # set while leader: what writer transactions check
        self.key: LeaderKey | None = None
        self._on_lost = on_lost
        self._conn: PgConnection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def is_leader(self) -> bool:
        return self.fence is not None

    @property
    def call_timeout_seconds(self) -> float:
        """The longest any one call on the dedicated connection may take before it counts as failed."""
        return max(self.heartbeat_seconds, self.connect_timeout_seconds) + 2.0

    async def acquire(self) -> Fence:
        """Wait until this instance holds the lock (trying every retry_seconds); start the heartbeat."""
        if self.fence is not None:
            return self.fence
        self.lost.clear()
        waiting = failing = False
        while True:
            try:
                fence = await self._call(self._try_lock_sync)
                failing = False
            except (psycopg.Error, TimeoutError) as exc:
                if not failing:
                    log.warning("leader_connection_failed", instance=self.instance, error=_describe(exc))
                failing = True
                self._drop_connection()
                fence = None
            if fence is not None:
                break
            if not waiting and not failing:
                log.info("leader_waiting", instance=self.instance, retry_seconds=self.retry_seconds)
                waiting = True
            await asyncio.sleep(self.retry_seconds)
        self.fence = fence
        log.info("leader_acquired", instance=self.instance, backend_pid=fence.pid, **_key_fields(fence.key))
        self._heartbeat = asyncio.create_task(self._beat(), name=f"leader-heartbeat-{self.instance}")
        return fence

    async def release(self) -> None:
        """Give leadership up on shutdown: stop the heartbeat, unlock, close (bounded; never raises)."""
        await self._stop_heartbeat()
        was_leader, self.fence = self.fence is not None, None
        # Also after an acquire() cancelled mid-call: the connection it may still open closes with this.
        if self._executor is not None:
            try:
                await self._call(functools.partial(self._close_sync, unlock=was_leader))
            except (psycopg.Error, TimeoutError) as exc:
                log.warning("leader_release_failed", instance=self.instance, error=_describe(exc))
        self._drop_connection()
        if was_leader:
            log.info("leader_released", instance=self.instance)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_seconds)
            try:
                await self._call(self._ping_sync)
            except (psycopg.Error, TimeoutError) as exc:
                self._lose(_describe(exc))
                return

    def _lose(self, reason: str) -> None:
        self.fence = None
        self._drop_connection()  # the server frees the lock when this session ends, if it has not yet
        log.error("leader_lost", instance=self.instance, reason=reason)
        self.lost.set()
        if self._on_lost is not None:
            self._on_lost()

    async def _stop_heartbeat(self) -> None:
        task, self._heartbeat = self._heartbeat, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # --- the worker thread -------------------------------------------------------------------------

    async def _call(self, fn: Callable[[], T]) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"leadership-{self.instance}")
        future = asyncio.get_running_loop().run_in_executor(self._executor, fn)
        try:
            return await asyncio.wait_for(future, self.call_timeout_seconds)
        except TimeoutError:
            self._drop_connection()  # the thread is stuck in libpq: leave it, and its connection, behind
            raise

    def _drop_connection(self) -> None:
        """Forget the connection and thread; the thread closes the connection after its current call."""
        conn, executor = self._conn, self._executor
        self._conn, self._executor = None, None
        if executor is not None:
            if conn is not None:
                executor.submit(_close_quietly, conn)
            executor.shutdown(wait=False)

    def _connection_sync(self) -> PgConnection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.url, autocommit=True, **self._connect_options())
        return self._conn

    def _connect_options(self) -> dict[str, Any]:
        idle = max(1, math.ceil(self.heartbeat_seconds))
        statement_ms = max(1000, int(self.heartbeat_seconds * 1000))
        session_ms = round(self.session_timeout_seconds * 1000)
        return {
            "connect_timeout": max(2, math.ceil(self.connect_timeout_seconds)),  # libpq's minimum is 2
            "application_name": f"statsbot {self.instance} leadership"[:63],
            "keepalives": 1,
            "keepalives_idle": idle,
            "keepalives_interval": idle,
            "keepalives_count": 3,
            "tcp_user_timeout": int(self.call_timeout_seconds * 1000),
            "options": f"-c statement_timeout={statement_ms} -c idle_session_timeout={session_ms}",
        }

    def _try_lock_sync(self) -> Fence | None:
        conn = self._connection_sync()
        key = self.key = LeaderKey.for_database(conn.info.dbname)
        row = conn.execute(_TRY_LOCK, {"namespace": key.namespace, "objid": key.objid}).fetchone()
        if row is None or row[0] is not True:
            return None
        return Fence(key, int(row[1]), row[2])

    def _ping_sync(self) -> None:
        if self._conn is None or self._conn.closed:
            raise psycopg.OperationalError("the leadership connection is closed")
        self._conn.execute("SELECT 1").fetchone()

    def _close_sync(self, *, unlock: bool) -> None:
        conn, key = self._conn, self.key
        if conn is None or conn.closed:
            return
        try:
            if unlock and key is not None:
                conn.execute(_UNLOCK, {"namespace": key.namespace, "objid": key.objid})
        finally:
            conn.close()  # ends the session: frees the lock even if the unlock failed


def _close_quietly(conn: PgConnection) -> None:
    with contextlib.suppress(psycopg.Error):
        conn.close()


def _key_fields(key: LeaderKey) -> dict[str, int]:
    return {"lock_namespace": key.namespace, "lock_objid": key.objid}


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
