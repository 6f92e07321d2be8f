"""Periodic jobs on the event loop (APScheduler 3.x) with per-job failure counters for health checks."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from datetime import time as clock_time
from typing import Any

import structlog
from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

log = structlog.get_logger(__name__)

JobFunc = Callable[..., Awaitable[object]]
# A maintenance run (backup, retention, digest) that is an hour late is still worth doing.
MAINTENANCE_GRACE_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class JobStats:
    """A snapshot of one job's history since start (times are time.time() epochs)."""

    job_id: str
    runs: int = 0
    errors: int = 0
    missed: int = 0
    skipped: int = 0
    consecutive_errors: int = 0
    last_error: str | None = None
    last_error_at: float | None = None
    last_success_at: float | None = None
    running: bool = False


@dataclass(slots=True)
class _Counters:
    runs: int = 0
    errors: int = 0
    missed: int = 0
    skipped: int = 0
    consecutive_errors: int = 0
    skip_streak: int = 0
    last_error: str | None = None
    last_error_at: float | None = None
    last_success_at: float | None = None


class Scheduler:
    """Interval and cron jobs; one run at a time per job, backlogs coalesced, failures counted and logged."""

    def __init__(self) -> None:
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._aps.add_listener(
            self._on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES
        )
        self._counters: dict[str, _Counters] = {}
        self._in_flight: dict[str, asyncio.Task[Any]] = {}
        self._run_at_start: set[str] = set()
        self._shutdown_requested = False
        # Hooks (bot/ops/db_refused.py): on_error returns True when it handled (and logged) the failure.
        self.on_error: Callable[[str, BaseException | None], bool] | None = None
        self.on_success: Callable[[str], None] | None = None

    # --- jobs -----------------------------------------------------------------------------------------

    def add_interval(
        self,
        job_id: str,
        func: JobFunc,
        seconds: float,
        *,
        args: Sequence[object] = (),
        jitter: float | None = None,
        run_now: bool = True,
    ) -> None:
        """Run `await func(*args)` every `seconds`; a run still going when the next is due is skipped."""
        if seconds <= 0:
            raise ValueError(f"job {job_id}: interval must be > 0, got {seconds}")
        extra: dict[str, Any] = {}
        if run_now and self._aps.running:
            extra["next_run_time"] = datetime.now(UTC)
        elif run_now:
            self._run_at_start.add(job_id)  # a "now" fixed before start() could be missed by then
        else:
            self._run_at_start.discard(job_id)  # replacing a job that was to run at start
        self._add(
            job_id,
            func,
            IntervalTrigger(seconds=seconds, jitter=jitter, timezone=UTC),
            args,
            # The default grace of 1 s silently drops runs after a short loop stall; one interval does not.
            grace=max(1, math.ceil(seconds)),
            **extra,
        )

    def add_cron(
        self,
        job_id: str,
        func: JobFunc,
        *,
        args: Sequence[object] = (),
        timezone: tzinfo = UTC,
        **fields: int | str,
    ) -> None:
        """Run on a cron schedule: fields as CronTrigger (hour=4, minute="*/15", day_of_week="mon")."""
        self._add(
            job_id, func, CronTrigger(timezone=timezone, **fields), args, grace=MAINTENANCE_GRACE_SECONDS
        )

    def add_daily(
        self,
        job_id: str,
        func: JobFunc,
        at: clock_time,
        *,
        args: Sequence[object] = (),
        timezone: tzinfo = UTC,
    ) -> None:
        """Run once a day at `at` (in `timezone`, UTC by default)."""
        self.add_cron(
            job_id, func, args=args, timezone=timezone, hour=at.hour, minute=at.minute, second=at.second
        )

    def remove(self, job_id: str) -> None:
        self._aps.remove_job(job_id)
        self._counters.pop(job_id, None)
        self._run_at_start.discard(job_id)

    def run_soon(self, job_id: str) -> None:
        """Move the next run of a job to now (an admin's "sync now"); skipped if it is running already."""
        self._aps.modify_job(job_id, next_run_time=datetime.now(UTC))

    def next_run_at(self, job_id: str) -> datetime | None:
        """When the job runs next (None: unknown job, or not scheduled yet because start() was not called)."""
        job = self._aps.get_job(job_id)
        next_run: datetime | None = getattr(job, "next_run_time", None) if job is not None else None
        return next_run

    def job_ids(self) -> list[str]:
        return [job.id for job in self._aps.get_jobs()]

    def _add(
        self, job_id: str, func: JobFunc, trigger: Any, args: Sequence[object], *, grace: int, **extra: Any
    ) -> None:
        self._counters.setdefault(job_id, _Counters())
        self._aps.add_job(
            self._tracked(job_id, func),
            trigger,
            args=list(args),
            id=job_id,
            name=job_id,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=grace,
            **extra,
        )

    def _tracked(self, job_id: str, func: JobFunc) -> JobFunc:
        async def run(*args: object) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._in_flight[job_id] = task
            try:
                # Everything the job logs (and asyncssh/discord records it causes) carries job=<id>.
                with structlog.contextvars.bound_contextvars(job=job_id):
                    await func(*args)
            finally:
                self._in_flight.pop(job_id, None)

        return run

    # --- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> None:
        """Start scheduling on the running event loop (call from a coroutine)."""
        self._aps.start()
        self._shutdown_requested = False
        now = datetime.now(UTC)
        for job_id in sorted(self._run_at_start):
            if self._aps.get_job(job_id) is not None:
                self._aps.modify_job(job_id, next_run_time=now)
        self._run_at_start.clear()
        log.info("scheduler_started", jobs=self.job_ids())

    async def stop(self, grace_seconds: float = 20.0) -> bool:
        """Stop starting jobs, let running ones finish for up to `grace_seconds`, then shut down.

        Returns False when some job had to be cancelled (APScheduler cannot wait for coroutine jobs:
        its shutdown cancels them, so this waits first).
        """
        if not self._aps.running:
            return True
        self._aps.pause()
        pending = {task for task in self._in_flight.values() if not task.done()}
        finished = True
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace_seconds)
            if late:
                finished = False
                log.warning(
                    "jobs_cancelled_at_shutdown", jobs=sorted(self._in_flight), grace_seconds=grace_seconds
                )
        self.shutdown()
        await asyncio.sleep(0)  # APScheduler runs its shutdown via call_soon: let it happen now
        return finished

    def shutdown(self) -> None:
        """Stop now; running coroutine jobs are cancelled. Safe to call again or when not running."""
        # APScheduler's own shutdown is queued on the loop (call_soon): `running` stays true until it
        # has run, and a second queued shutdown would raise inside the loop.
        if self._aps.running and not self._shutdown_requested:
            self._shutdown_requested = True
            self._aps.shutdown(wait=False)
            log.info("scheduler_stopped")

    def running_tasks(self) -> list[asyncio.Task[Any]]:
        """The jobs running now (to cancel and await them when the work must stop at once)."""
        return [task for task in self._in_flight.values() if not task.done()]

    @property
    def is_running(self) -> bool:
        return bool(self._aps.state == STATE_RUNNING)

    def job_stats(self) -> dict[str, JobStats]:
        return {
            job_id: JobStats(
                job_id=job_id,
                runs=c.runs,
                errors=c.errors,
                missed=c.missed,
                skipped=c.skipped,
                consecutive_errors=c.consecutive_errors,
                last_error=c.last_error,
                last_error_at=c.last_error_at,
                last_success_at=c.last_success_at,
                running=job_id in self._in_flight,
            )
            for job_id, c in self._counters.items()
        }

    # --- events ---------------------------------------------------------------------------------------

    def _on_event(self, event: JobEvent) -> None:
        counters = self._counters.setdefault(event.job_id, _Counters())
        if event.code == EVENT_JOB_MAX_INSTANCES:
            counters.skipped += 1
            counters.skip_streak += 1
            # Only the first skip of a streak is worth a warning: a slow server would repeat it every tick.
            level = logging.WARNING if counters.skip_streak == 1 else logging.DEBUG
            log.log(level, "job_skipped_still_running", job=event.job_id, skipped=counters.skipped)
            return
        counters.skip_streak = 0
        if event.code == EVENT_JOB_MISSED:
            counters.missed += 1
            log.warning("job_missed", job=event.job_id, scheduled_at=_iso(event))
        elif event.code == EVENT_JOB_EXECUTED:
            if counters.consecutive_errors:
                log.info("job_recovered", job=event.job_id, after_errors=counters.consecutive_errors)
            counters.runs += 1
            counters.consecutive_errors = 0
            counters.last_success_at = time.time()
            if self.on_success is not None:
                self.on_success(event.job_id)
        elif event.code == EVENT_JOB_ERROR:
            self._on_error(event.job_id, counters, getattr(event, "exception", None))

    def _on_error(self, job_id: str, counters: _Counters, exc: BaseException | None) -> None:
        if isinstance(exc, asyncio.CancelledError):  # shutdown cancelled it: not a failure of the job
            log.info("job_cancelled", job=job_id)
            return
        counters.errors += 1
        counters.consecutive_errors += 1
        counters.last_error = f"{type(exc).__name__}: {exc}"
        counters.last_error_at = time.time()
        if self.on_error is not None and self.on_error(job_id, exc):
            return
        log.error(
            "job_failed",
            job=job_id,
            error=counters.last_error,
            consecutive_errors=counters.consecutive_errors,
            exc_info=exc,
        )


def _iso(event: JobEvent) -> str | None:
    run_time = getattr(event, "scheduled_run_time", None)
    return run_time.isoformat() if isinstance(run_time, datetime) else None
