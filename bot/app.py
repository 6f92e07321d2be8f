"""Composition root: builds the database, sources, pollers, scheduler and chat, and runs `run` / `once`."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from bot.chat.runtime import ChatRuntime, start_chat
from bot.config import ServerConfig, Settings
from bot.db.connection import Database
from bot.factory import continuity, import_settings, make_source
from bot.ingest import files as localfiles
from bot.ingest import history
from bot.ingest.importer import close_idle_sessions
from bot.ingest.poller import CycleResult, Poller, PollerConfig
from bot.ingest.registry import MemoryCache, Registry
from bot.ingest.settle import SettleGate
from bot.ingest.source import StatsSource
from bot.scheduler import Scheduler

if TYPE_CHECKING:
    from bot.writer_work import WriterWork

log = structlog.get_logger(__name__)

SHUTDOWN_GRACE_SECONDS = 30.0  # in-flight cycles get this long to finish their current import
ONCE_MAX_SETTLE_ROUNDS = 4  # `once`: re-check a still-changing file at most this often, then leave it
# `run`: a file first seen by a cycle is re-checked as soon as its quiet period has passed rather than at
# the next cycle (latency: poll interval + min_file_age instead of up to twice the interval). A file that
# keeps changing restarts its quiet period at every look, so re-checks are min_file_age apart; the cap
# bounds them anyway (min_file_age = 0), and the rest is left to the next cycle.
RUN_MAX_EARLY_RECHECKS = 3
# A re-check is only started if it can end this long before the next cycle is due, so it never makes
# APScheduler skip that cycle (max_instances=1); later than that, the cycle itself takes the look.
RECHECK_MARGIN_SECONDS = 0.5
RECHECK_SLACK_SECONDS = 0.002  # sleep a hair past the quiet period: loop timers may fire a little early

ChatFactory = Callable[[Settings, Database], Awaitable[ChatRuntime]]
# Maintenance hooks run by the scheduler: (job id, interval seconds, coroutine function of the App).
MaintenanceJob = tuple[str, float, Callable[["App"], Awaitable[None]]]


@dataclass(slots=True)
class App:
    """The daemon. `sources` overrides the SSH sources per server name (tests, local folders)."""

    settings: Settings
    sources: Mapping[str, StatsSource] = field(default_factory=dict)
    chat_factory: ChatFactory = start_chat
    maintenance: list[MaintenanceJob] = field(default_factory=list)
    accept_data_loss: bool = False  # --accept-data-loss: see bot/db/continuity.py
    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    db: Database | None = None
    chat: ChatRuntime | None = None
    pollers: dict[str, Poller] = field(default_factory=dict)
    _cycles: dict[str, asyncio.Task[CycleResult]] = field(default_factory=dict)
    _halt: asyncio.Event = field(default_factory=asyncio.Event)  # set at shutdown: ends re-check waits
    _sources: dict[str, StatsSource] = field(default_factory=dict)
    db_check_delay: float | None = None  # after a start that deferred the database check (None: default)
    imports_stopped: str | None = None  # why, once a database check found damage: no poll runs after
    failed: list[CycleResult] = field(default_factory=list)  # `once`: the servers whose cycle failed
    writer: WriterWork | None = None  # the writer work while it runs (bot/writer_work.py)
    standby: str | None = None  # "standby" on PostgreSQL while another instance leads (bot/ha.py)

    async def open(self, *, pollers: bool = True) -> None:
        """Open the database (migrations, lock), load the memory layer ONCE, build pollers and chat."""
        # After a clean shutdown the full check leaves the start-up path (seconds on a large database):
        # `run` does it in the background, `once` when the last one is over a day old (bot/ops/dbcheck.py).
        self.db = await Database.open(
            self.settings.db_target,
            continuity=continuity(self.settings, accept_data_loss=self.accept_data_loss),
            defer_check=True,
            synchronous_commit=self.settings.database.synchronous_commit,
        )
        try:
            if pollers:  # `run` on PostgreSQL: each leadership term builds its own (bot/ha.py)
                await self.build_pollers()
            self.chat = await self.chat_factory(self.settings, self.db)
        except BaseException:
            await self.close()
            raise

    async def build_pollers(self) -> None:
        """One poller per enabled server, over the memory layer loaded now (once per leadership term on
        PostgreSQL: what the other instance imported meanwhile is in the database, not in our memory)."""
        assert self.db is not None
        memory = await MemoryCache.load(self.db)
        for server in self.settings.enabled_servers:
            self.pollers[server.name] = self._poller(server, memory)

    async def drop_pollers(self) -> None:
        """Forget the pollers and close their sources (leadership lost)."""
        await self._close_sources()
        self.pollers.clear()
        self._cycles.clear()

    async def _close_sources(self) -> None:
        for source in self._sources.values():
            with contextlib.suppress(Exception):
                await source.close()
        self._sources.clear()

    def _poller(self, server: ServerConfig, memory: MemoryCache) -> Poller:
        assert self.db is not None
        local_dir = self.settings.paths.local_stats / server.name
        local_dir.mkdir(parents=True, exist_ok=True)
        localfiles.remove_orphan_parts(local_dir)  # a crash mid-download leaves a .part: never used, removed
        source = self.sources.get(server.name) or make_source(server, self.settings)
        self._sources[server.name] = source
        return Poller(
            db=self.db,
            source=source,
            registry=Registry(
                self.db, server.name, local_dir, memory, quiet_history=history.quiet_history(self.settings)
            ),
            gate=SettleGate(server.min_file_age_seconds, clock=self.monotonic),
            config=PollerConfig(
                server=server.name,
                full_listing_seconds=server.full_listing_seconds,
                max_parallel_downloads=server.max_parallel_downloads,
                unreachable_alert_polls=self.settings.health.unreachable_alert_polls,
                recursive=server.recursive,
            ),
            import_settings=import_settings(self.settings),
            local_stats=self.settings.paths.local_stats,
            on_import=self._notify_chat,
            monotonic=self.monotonic,
            wall=self.wall,
        )

    def source(self, server: str) -> StatsSource | None:
        """The open source of a polled server (the drift watch shares its connection); None otherwise."""
        return self._sources.get(server)

    def _notify_chat(self) -> None:
        if self.chat is not None:
            self.chat.notify()

    async def close(self) -> None:
        """Release sources, chat and the database (aiosqlite keeps the process alive otherwise)."""
        await self._close_sources()
        try:
            if self.chat is not None:
                chat, self.chat = self.chat, None
                await chat.close()
        finally:
            # Always, even if chat failed to close: an open database keeps the process from exiting.
            if self.db is not None:
                db, self.db = self.db, None
                await db.close()

    # ---- once ---------------------------------------------------------------------------------

    async def once(self) -> int:
        """One complete cycle per server, settle gate waited out, outbox drained. 1 if a server failed."""
        await self.open()
        try:
            results = await asyncio.gather(*(self._once_server(p) for p in self.pollers.values()))
            assert self.chat is not None
            await self.chat.drain_once()
        finally:
            await self.close()
        self.failed = [r for r in results if not r.ok]
        log.info("once_finished", servers=len(results), failed=[r.server for r in self.failed])
        return 1 if self.failed else 0

    async def _once_server(self, poller: Poller) -> CycleResult:
        result = await poller.poll()
        for _ in range(ONCE_MAX_SETTLE_ROUNDS):
            if not result.ok or not len(poller.gate):
                break
            waits = [poller.gate.remaining(n) or 0.0 for n in poller.gate.pending()]
            await asyncio.sleep(max([0.0, *waits]))
            result = await poller.poll()
        if poller.holding:  # behind a file that did not settle in time: imported now, not never
            held = await poller.import_held()
            result.states.update(held.states)
            result.ok = result.ok and held.ok
        return result

    # ---- run ----------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> int:
        """The daemon until `stop` is set: graceful shutdown lets in-flight imports commit. Returns 0.

        Chat (slash commands, reads) serves at once. The writer work (bot/writer_work.py) starts at once
        on SQLite; on PostgreSQL only while this instance leads (bot/ha.py)."""
        from bot import notify  # systemd integration: only the long-running daemon talks to it
        from bot.ops.maintenance import serve_health  # optional /healthz + /metrics (bot/ops)

        self._halt.clear()
        await self.open(pollers=not self.settings.on_postgresql)
        health_http = None
        chat_stop = asyncio.Event()
        chat_task: asyncio.Task[None] | None = None
        watchdog: asyncio.Task[None] | None = None
        try:
            assert self.db is not None
            assert self.chat is not None
            health_http = await serve_health(self.settings, self.db, self.writer_running)
            chat_task = asyncio.create_task(self.chat.serve(chat_stop), name="chat")
            watchdog = asyncio.create_task(notify.watchdog_loop(self._healthy), name="watchdog")
            if self.settings.on_postgresql:
                from bot.ha import LeaderLoop

                await LeaderLoop(self).run(stop)
            else:
                await self._lead(stop)
            chat_stop.set()
            await chat_task
        finally:
            for task in (watchdog, chat_task):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(BaseException):
                        await task
            if health_http is not None:
                await health_http.close()
            await self.close()
        log.info("daemon_stopped")
        return 0

    async def _lead(self, stop: asyncio.Event) -> None:
        """SQLite: this process is the only instance (its lock file); the writer work runs until stop."""
        from bot import notify

        work = await self.start_writer_work()
        try:
            notify.notify_ready(f"polling {len(self.pollers)} server(s)")
            log.info("daemon_started", servers=list(self.pollers))
            await stop.wait()
            notify.notify_stopping("draining in-flight imports")
            log.info("daemon_stopping")
            await work.stop(SHUTDOWN_GRACE_SECONDS)
        finally:
            self.writer = None
            await work.abort()  # a no-op after stop(); cancels everything if stop() was cut short

    async def start_writer_work(self) -> WriterWork:
        from bot.writer_work import WriterWork

        work = WriterWork(self)
        self.writer = work
        try:
            await work.start()
        except BaseException:
            self.writer = None
            await work.abort()
            raise
        return work

    def writer_running(self) -> bool:
        """The scheduler of the writer work runs (False on a standby instance: see standby_of)."""
        return self.writer is not None and self.writer.is_running

    async def _healthy(self) -> bool:
        # The event loop, the scheduler and the database: never the game servers (a server being down
        # must not make systemd restart the daemon). A standby instance has no scheduler running.
        return self.db is not None and (self.writer_running() or self.standby is not None)

    async def db_check(self, delay: float = 0.0) -> None:
        from bot.ops.dbcheck import run_check

        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._halt.wait(), delay)
        if self.db is not None and not self._halt.is_set() and self.imports_stopped is None:
            await run_check(self.db, self._stop_imports, now=self.wall)

    def _stop_imports(self, reason: str) -> None:
        """A database check found damage: nothing more is imported into it (the alert says what to do)."""
        self.imports_stopped = reason
        for poller in self.pollers.values():
            poller.stop()

    async def poll_job(self, server: str, interval: float) -> None:
        """Scheduler job: the cycle runs in its own task so a scheduler shutdown cannot cut it short."""
        if self.imports_stopped is not None:
            return
        running = self._cycles.get(server)
        if running is not None and not running.done():
            return
        task = asyncio.create_task(self._run_cycle(self.pollers[server], interval), name=f"poll:{server}")
        self._cycles[server] = task
        await asyncio.shield(task)

    async def _run_cycle(self, poller: Poller, interval: float) -> CycleResult:
        """A poll, then early re-checks of the files it left settling, all before the next poll is due.

        Inside the job, so cycles of one server never overlap; each server has its own job and task, so
        waiting here blocks no other server.
        """
        loop = asyncio.get_running_loop()
        next_cycle = loop.time() + interval
        margin = min(RECHECK_MARGIN_SECONDS, interval / 4)
        result = await poller.poll()
        for _ in range(RUN_MAX_EARLY_RECHECKS):
            wait = poller.gate.next_due()
            if not result.ok or wait is None or self._halt.is_set():
                break
            wait += RECHECK_SLACK_SECONDS
            if loop.time() + wait > next_cycle - margin:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._halt.wait(), wait)
            if self._halt.is_set():
                break
            result = await poller.recheck()
        return result

    async def close_sessions(self) -> None:
        assert self.db is not None
        closed = await close_idle_sessions(
            self.db, idle_seconds=self.settings.ingest.session_gap_minutes * 60, now=self.wall()
        )
        if closed:
            self._notify_chat()

    def halt(self) -> None:
        """Start no new import, end re-check waits (shutdown, leadership lost)."""
        self._halt.set()
        for poller in self.pollers.values():
            poller.stop()

    def resume(self) -> None:
        self._halt.clear()

    def cycle_tasks(self) -> list[asyncio.Task[CycleResult]]:
        return [task for task in self._cycles.values() if not task.done()]

    async def shutdown_cycles(self, scheduler: Scheduler) -> None:
        self.halt()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_GRACE_SECONDS  # one budget for the whole stop (systemd waits 90 s)
        await scheduler.stop(SHUTDOWN_GRACE_SECONDS)
        cycles = [t for t in self._cycles.values() if not t.done()]
        if cycles:
            _done, pending = await asyncio.wait(cycles, timeout=max(0.1, deadline - loop.time()))
            for task in pending:  # stuck in network I/O: cancel; imports are shielded and awaited below
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        for poller in self.pollers.values():
            await poller.wait_idle()
