"""One health verdict: database, disk space, each server's last successful poll, outbox backlog, scheduler."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.config import Settings
from bot.db import ops_queries
from bot.db import status as status_db
from bot.db.connection import Database
from bot.db.tx import DATABASE_ERRORS

# A server counts as stale after this many poll intervals without a successful poll.
STALE_POLL_INTERVALS = 3

DiskUsage = Callable[[Path], int]  # free bytes of the filesystem holding the path


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the verdict."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class HealthReport:
    checks: tuple[Check, ...]

    @property
    def healthy(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_json(self) -> dict[str, object]:
        return {
            "healthy": self.healthy,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }

    def render(self) -> str:
        lines = [f"{'ok ' if c.ok else 'BAD'}  {c.name:<22} {c.detail}" for c in self.checks]
        lines.append("healthy" if self.healthy else "UNHEALTHY")
        return "\n".join(lines) + "\n"


def free_bytes(path: Path) -> int:
    """Free bytes for an unprivileged writer on the filesystem of `path` (its nearest existing parent)."""
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


async def _database(db: Database, full: bool, now: float) -> Check:
    if not full:
        # Inside the daemon: the verdict of its scheduled full check (bot/ops/dbcheck.py), not another
        # read of the whole file. Run every minute (alerts) and per /healthz scrape, that read cost
        # seconds of CPU per minute on a large database: most of what the idle daemon spent.
        if db.damaged:
            return Check("database", False, "the last full check found damage: imports are stopped")
        if db.checked_at is None:
            return Check("database", True, "full check pending (runs in the background)")
        age = max(0.0, now - db.checked_at) / 3600
        return Check("database", True, f"full check passed {age:.1f} h ago")
    try:
        messages = await db.quick_check()
    except DATABASE_ERRORS as exc:
        return Check("database", False, f"unreadable: {exc}")
    if messages == ["ok"]:
        return Check(
            "database", True, "PostgreSQL answers" if db.engine == "postgresql" else "quick_check ok"
        )
    return Check("database", False, "; ".join(messages[:3]))


async def _role(db: Database, settings: Settings) -> Check:
    """Two instances on PostgreSQL: which one leads (bot/ha.py). No leader at all means nothing polls."""
    from bot.db.leader_status import role_text

    text = await role_text(db, settings.database.instance) or "single instance"
    return Check("role", not text.startswith("no instance"), text)


def _disk(settings: Settings, disk_free: DiskUsage) -> list[Check]:
    floor = settings.health.min_free_disk_mb
    checks = []
    for label, path in (
        ("disk data_dir", settings.paths.data_dir),
        ("disk local_stats", settings.paths.local_stats),
    ):
        free_mb = disk_free(path) // (1024 * 1024)
        checks.append(Check(label, free_mb >= floor, f"{free_mb} MB free (minimum {floor} MB) at {path}"))
    return checks


async def _servers(db: Database, settings: Settings, now: float) -> list[Check]:
    statuses = {st.server: st for st in await status_db.server_statuses(db)}
    checks = []
    for server in settings.servers:
        if not server.enabled:
            continue
        status = statuses.get(server.name)
        limit = STALE_POLL_INTERVALS * server.poll_seconds
        name = f"server {server.name}"
        if status is None or status.last_success_at is None:
            error = f" (last error: {status.last_error})" if status is not None and status.last_error else ""
            checks.append(Check(name, False, f"no successful poll yet{error}"))
            continue
        age = now - status.last_success_at
        detail = f"last successful poll {age:.0f}s ago (limit {limit:.0f}s)"
        if status.consecutive_failures:
            detail += f", {status.consecutive_failures} failures since: {status.last_error}"
        checks.append(Check(name, age <= limit, detail))
    return checks


async def check_health(
    db: Database,
    settings: Settings,
    *,
    now: float | None = None,
    scheduler_running: bool | None = None,
    disk_free: DiskUsage = free_bytes,
    full_db_check: bool = True,
) -> HealthReport:
    """Every check; `scheduler_running` None = not known here (the CLI runs outside the daemon), skipped.

    `full_db_check` False (the daemon's own alerts and /healthz): the database line reports the daemon's
    scheduled background check instead of running `PRAGMA quick_check` again.
    """
    at = time.time() if now is None else now
    checks = [await _database(db, full_db_check, at)]
    if not checks[0].ok:
        return HealthReport(tuple(checks))
    checks += _disk(settings, disk_free)
    checks += await _servers(db, settings, at)
    backlog = await ops_queries.outbox_backlog(db)
    limit = settings.health.outbox_backlog_alert
    checks.append(Check("outbox backlog", backlog <= limit, f"{backlog} posts pending (limit {limit})"))
    if db.engine == "postgresql":
        role = await _role(db, settings)
        checks.append(role)
        if role.detail.startswith("standby"):
            scheduler_running = None  # a standby runs no writer scheduler: its role line says why
    if scheduler_running is not None:
        checks.append(
            Check("scheduler", scheduler_running, "running" if scheduler_running else "not running")
        )
    return HealthReport(tuple(checks))


async def is_healthy(db: Database, settings: Settings, *, scheduler_running: bool | None = None) -> bool:
    """The single yes/no the watchdog, /healthz and `statsbot health` share."""
    return (await check_health(db, settings, scheduler_running=scheduler_running)).healthy
