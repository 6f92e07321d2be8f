"""What the daemon runs for operations: retention, health alerts, the optional /healthz + /metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import structlog

from bot.config import Settings
from bot.db import outbox, status
from bot.db.connection import Database
from bot.ingest import posts
from bot.ops.drift_watch import DriftWatch, WatchHost
from bot.ops.health import HealthReport, check_health
from bot.ops.metrics import HealthServer, start_health_server
from bot.ops.retention import run_retention

log = structlog.get_logger(__name__)

# Retention acts on whole days: a few runs a day keep the work per run small without a daily burst.
RETENTION_INTERVAL_SECONDS = 6 * 3600.0
HEALTH_ALERT_INTERVAL_SECONDS = 60.0
PROBE_CACHE_SECONDS = 5.0
# Health checks that open an admin alert (server reachability has its own alert, opened by the poller).
ALERTING_CHECKS = {"disk data_dir": "disk_low:data_dir", "disk local_stats": "disk_low:local_stats",
                   "outbox backlog": "outbox_backlog", "database": "database"}  # fmt: skip


class Host(Protocol):
    """What a maintenance job needs of the daemon (bot.app.App)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database | None: ...


async def retention_job(app: Host) -> None:
    """Scheduler job: apply [retention]; problems are logged by run_retention, never raised."""
    if app.db is None:
        return
    await run_retention(app.db, app.settings)


async def health_alert_job(
    app: Host, *, now: float | None = None, report: HealthReport | None = None
) -> None:
    """Scheduler job: open an admin alert when disk space, the outbox backlog or the database go bad,
    resolve it when they recover — once each, never per run (bot.db.status keeps them open)."""
    if app.db is None:
        return
    at = time.time() if now is None else now
    verdict = (
        report
        if report is not None
        else await check_health(app.db, app.settings, now=at, full_db_check=False)
    )
    async with app.db.transaction() as tx:
        for check in verdict.checks:
            key = ALERTING_CHECKS.get(check.name)
            if key is None:
                continue
            if not check.ok and await status.open_alert(
                tx, key, "warning", f"{check.name}: {check.detail}", at
            ):
                kind, message = posts.KIND_ALERT, f"{check.name}: {check.detail}"
            elif check.ok and await status.resolve_alert(tx, key, at):
                kind, message = posts.KIND_ALERT_RESOLVED, f"{check.name} back to normal: {check.detail}"
            else:
                continue
            await outbox.enqueue(
                tx, kind=kind, channel="admin", dedupe_key=f"{kind}:{key}:{at:.6f}",
                payload=posts.alert_payload(key, "warning", message), now=at,
            )  # fmt: skip
            log.warning("health_alert", key=key, kind=kind, detail=check.detail)


def maintenance_jobs(settings: Settings) -> list[tuple[str, float, Callable[[WatchHost], Awaitable[None]]]]:
    """(job id, interval seconds, job) for the daemon's scheduler: health alerts, the drift watch unless
    [health] drift_check_minutes = 0, retention when on."""
    jobs: list[tuple[str, float, Callable[[WatchHost], Awaitable[None]]]] = [
        ("ops:health_alerts", HEALTH_ALERT_INTERVAL_SECONDS, health_alert_job)
    ]
    if settings.health.drift_check_minutes > 0:
        jobs.append(("ops:drift_watch", settings.health.drift_check_minutes * 60, DriftWatch().check))
    ret = settings.retention
    if ret.local_days is not None or ret.remote_delete_days is not None or ret.mirror_remote_deletions:
        jobs.append(("ops:retention", RETENTION_INTERVAL_SECONDS, retention_job))
    return jobs


async def serve_health(
    settings: Settings, db: Database, scheduler_running: Callable[[], bool]
) -> HealthServer | None:
    """Start the HTTP endpoint when [health] http_port is set; None otherwise. Close it on shutdown."""
    port = settings.health.http_port
    if port is None:
        return None

    last: list[tuple[float, HealthReport]] = []

    async def probe() -> HealthReport:
        # Scrapers poll often: a verdict serves a few seconds (the database line is the scheduled check).
        now = time.monotonic()
        if last and now - last[0][0] < PROBE_CACHE_SECONDS:
            return last[0][1]
        report = await check_health(db, settings, scheduler_running=scheduler_running(), full_db_check=False)
        last[:] = [(now, report)]
        return report

    return await start_health_server(db, probe, host=settings.health.http_host, port=port)
