"""High availability on PostgreSQL: lead or stand by, and hand over within a bounded time.

Two `statsbot run` share one PostgreSQL database. Both serve chat (reads, slash commands) from the start.
Each waits for the leadership lock (bot/db/leadership.py); the one holding it runs the writer work
(bot/writer_work.py: polling, imports, the outbox drainer, the scheduled writer jobs) with every writer
transaction fenced (bot/db/fencing.py). When leadership is lost (the heartbeat finds the lock connection
dead, or a fenced transaction is refused) the writer work stops at once and the instance goes back to
waiting; the other instance takes over within `[database]` takeover bound (docs/OPERATIONS.md §12).

Each instance keeps its own never-forget record in its data_dir (bot/db/continuity.py, checked when the
database opens, before either role): the leader rewrites it after its commits, every instance refreshes
it each minute and at shutdown, so a standby's record trails the leader's imports by a minute at most.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

import structlog

from bot.db.fencing import Fence
from bot.db.leadership import Leadership
from bot.db.pg_database import PgDatabase

if TYPE_CHECKING:
    from bot.app import App

log = structlog.get_logger(__name__)

STANDBY = "standby"
RELEAD_BACKOFF_RETRIES = 2  # after losing leadership, wait this many retry intervals before trying again
LEADER = "leader"


class LeaderLoop:
    """Runs inside App.run on PostgreSQL until `stop` is set."""

    def __init__(self, app: App) -> None:
        cfg = app.settings.database
        url = app.settings.db_target
        assert isinstance(url, str)
        self.app = app
        self.instance = cfg.instance
        self.leadership = Leadership(
            url,
            instance=cfg.instance,
            retry_seconds=cfg.leader_retry_seconds,
            heartbeat_seconds=cfg.leader_heartbeat_seconds,
        )
        self._refused = asyncio.Event()  # a fenced writer transaction was refused (NotLeader)

    @property
    def db(self) -> PgDatabase:
        db = self.app.db
        assert isinstance(db, PgDatabase)
        return db

    async def run(self, stop: asyncio.Event) -> None:
        from bot import notify

        self._check_bound()
        notify.notify_ready("standby: waiting for leadership")
        log.info("daemon_started", role=STANDBY, instance=self.instance, servers=self._servers())
        try:
            while not stop.is_set():
                self._role(STANDBY)
                fence = await _first(self.leadership.acquire(), stop)
                if fence is None:
                    break
                if await self._lead(fence, stop):
                    break
                # Lost: the other instance (whose connection is not the suspect one) gets the lock first;
                # it tries every retry interval, so two of them give it at least one try before ours.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        stop.wait(), RELEAD_BACKOFF_RETRIES * self.leadership.retry_seconds
                    )
        finally:
            self.app.standby = None
            await self.leadership.release()

    async def _lead(self, fence: Fence, stop: asyncio.Event) -> bool:
        """One leadership term. True when it ended by `stop` (shutdown), False when leadership was lost."""
        from bot import notify

        self._refused.clear()
        self.db.bind_fence(fence, self._refused.set)
        app = self.app
        work = None
        try:
            work = await app.start_writer_work()
            self._role(LEADER)
            notify.notify_status(f"leader: polling {len(app.pollers)} server(s)")
            lost = await _wait_any(stop, self.leadership.lost, self._refused)
            if lost is stop:
                notify.notify_stopping("draining in-flight imports")
                log.info("daemon_stopping", role=LEADER, instance=self.instance)
                from bot.app import SHUTDOWN_GRACE_SECONDS

                await work.stop(SHUTDOWN_GRACE_SECONDS)
                return True
            reason = "lock connection lost" if lost is self.leadership.lost else "writer transaction refused"
            log.error("leadership_lost_stopping_writer_work", instance=self.instance, reason=reason)
            return False
        finally:
            app.writer = None
            if work is not None:
                await work.abort()  # at once: nothing new starts, in-flight tasks cancelled and awaited
            await app.drop_pollers()
            await self.db.barrier()  # every call already on the writer thread ran (fenced) before unbinding
            self.db.bind_fence(None)
            if not stop.is_set():
                # Lost: give the lock up for certain (a refused fence with a live heartbeat) and re-wait.
                await self.leadership.release()

    def _role(self, role: str) -> None:
        self.app.standby = STANDBY if role == STANDBY else None
        log.info("role_changed", role=role, instance=self.instance)

    def _servers(self) -> list[str]:
        return [server.name for server in self.app.settings.enabled_servers]

    def _check_bound(self) -> None:
        cfg = self.app.settings.database
        polls = [server.poll_seconds for server in self.app.settings.enabled_servers]
        bound = cfg.takeover_bound_seconds
        if polls and bound > 2 * min(polls):
            log.warning(
                "leader_takeover_slower_than_two_polls",
                takeover_seconds=bound,
                poll_seconds=min(polls),
                hint="lower [database] leader_retry_seconds / leader_heartbeat_seconds",
            )


async def _first(acquiring: Coroutine[Any, Any, Fence], stop: asyncio.Event) -> Fence | None:
    """The fence once acquired; None if `stop` came first (the acquire is cancelled)."""
    task = asyncio.ensure_future(acquiring)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pending in (task, stopper):
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pending
    if task.cancelled() or not task.done():
        return None
    return task.result()


async def _wait_any(*events: asyncio.Event) -> asyncio.Event:
    """The first of `events` to be set."""
    waiters = {asyncio.ensure_future(event.wait()): event for event in events}
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return next(event for event in events if event.is_set())  # in the order given: `stop` wins a tie
