"""The daemon's writer work: polling and imports, the outbox drainer and the scheduled writer jobs.

One instance runs it: the only one on SQLite (its lock file), the leader on PostgreSQL (bot/ha.py).
`stop()` ends it gracefully at shutdown (in-flight imports commit, the outbox is drained a last time);
`abort()` ends it at once when leadership is lost: every task is cancelled and awaited, an import already
handed to the database finishes there (it commits whole, or its fenced BEGIN refuses it), and nothing
new starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

import structlog

from bot.config import Settings
from bot.factory import import_settings
from bot.ingest.importer import sweep_pending_round2
from bot.scheduler import Scheduler

if TYPE_CHECKING:
    from bot.app import App, MaintenanceJob
    from bot.ops.db_refused import DbRefusalWatch

log = structlog.get_logger(__name__)

ABORT_GRACE_SECONDS = 10.0  # an import already in the database gets this long to commit or roll back
SESSION_CHECK_SECONDS = 60.0
PENDING_SWEEP_SECONDS = 300.0  # how often round 2s pending past the pairing window are made orphans


async def _backup(app: App) -> None:
    from bot.ops.dbtools import backup_database

    assert app.db is not None
    await backup_database(app.db, app.settings.backup_dir, keep=app.settings.backup.keep)


async def _sweep_pending_round2(app: App) -> None:
    # A round 2 whose round 1 never came stays pending on a quiet server; after the pairing window
    # it is an orphan (posted once). Grace = the pairing window.
    assert app.db is not None
    window = import_settings(app.settings).pairing_window
    # Never while a round 1 that may be its own is listed on its server and still to be imported. A copy:
    # the pollers keep changing their index while this transaction reads it on the database thread.
    awaited = {
        name: {m: frozenset(names) for m, names in poller.awaited_round1().items() if names}
        for name, poller in app.pollers.items()
    }
    await sweep_pending_round2(
        app.db, older_than_seconds=window, now=time.time(), pairing_window=window, awaited=awaited
    )


def default_maintenance(settings: Settings) -> list[MaintenanceJob]:
    """Maintenance beyond polling; further jobs (retention, digest) plug in via `App.maintenance`."""
    jobs: list[MaintenanceJob] = [("rounds:sweep_pending_r2", PENDING_SWEEP_SECONDS, _sweep_pending_round2)]
    if settings.backup.enabled:
        jobs.append(("db:backup", settings.backup.interval_hours * 3600, _backup))
    from bot.ops.maintenance import maintenance_jobs  # health alerts, retention (bot/ops)

    jobs += maintenance_jobs(settings)
    return jobs


def refusal_watch(app: App, scheduler: Scheduler) -> DbRefusalWatch:
    """The admin hears of a database that refuses writes even though no alert can be queued."""
    from bot.ops.db_refused import DbRefusalWatch

    async def send(text: str) -> None:
        if app.chat is not None:
            await app.chat.notice(text)

    watch = DbRefusalWatch(app.settings.db_target, send, clock=app.monotonic)
    scheduler.on_error, scheduler.on_success = watch.on_error, watch.on_success
    return watch


class WriterWork:
    """Started once per leadership term (once per process on SQLite)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.scheduler = Scheduler()
        self._refused: DbRefusalWatch = refusal_watch(app, self.scheduler)
        self._drain_stop = asyncio.Event()
        self._drainer: asyncio.Task[None] | None = None
        self._first_check: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def is_running(self) -> bool:
        return self.scheduler.is_running

    async def start(self) -> None:
        from bot.ops import dbcheck

        app, scheduler = self.app, self.scheduler
        app.resume()
        if not app.pollers:
            await app.build_pollers()
        for server in app.settings.enabled_servers:
            scheduler.add_interval(
                f"poll:{server.name}",
                app.poll_job,
                server.poll_seconds,
                args=(server.name, server.poll_seconds),
            )
        scheduler.add_interval("sessions:close_idle", app.close_sessions, SESSION_CHECK_SECONDS)
        scheduler.add_interval("db:check", app.db_check, dbcheck.INTERVAL_SECONDS, run_now=False)
        for job_id, seconds, job in [*default_maintenance(app.settings), *app.maintenance]:
            scheduler.add_interval(job_id, job, seconds, args=(app,), run_now=False)
        scheduler.start()
        assert app.chat is not None
        assert app.db is not None
        self._drainer = asyncio.create_task(app.chat.drainer.run(self._drain_stop), name="outbox-drainer")
        if app.db.check_deferred:
            delay = dbcheck.START_DELAY_SECONDS if app.db_check_delay is None else app.db_check_delay
            self._first_check = asyncio.create_task(app.db_check(delay), name="db:first_check")

    async def stop(self, grace_seconds: float) -> None:
        """Shutdown: in-flight imports commit, the drainer ends its pass, then one last drain."""
        app = self.app
        try:
            await app.shutdown_cycles(self.scheduler)
            self._drain_stop.set()
            if self._drainer is not None:
                await self._drainer
            if app.chat is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(app.chat.drain_once(), grace_seconds)
        finally:
            await self._close()

    async def abort(self) -> None:
        """Leadership lost: stop everything now, start nothing, wait for what the database still runs."""
        if self._closed:
            return
        app = self.app
        app.halt()
        self._drain_stop.set()
        self.scheduler.shutdown()  # no new job; running ones are cancelled below
        tasks = [*self.scheduler.running_tasks(), *app.cycle_tasks()]
        tasks += [t for t in (self._drainer, self._first_check) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for poller in app.pollers.values():
            try:
                await asyncio.wait_for(poller.wait_idle(), ABORT_GRACE_SECONDS)
            except TimeoutError:
                log.warning("writer_import_still_running", server=poller.server)
        await self._close()

    async def _close(self) -> None:
        self._closed = True
        for task in (self._drainer, self._first_check):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        if self.scheduler.is_running:
            self.scheduler.shutdown()
        await self._refused.close()
