"""The database's full check while the daemon runs: after a start that deferred it, and on a schedule.

`PRAGMA quick_check` reads the whole file (seconds at 100,000 imported files), so a start after a clean
shutdown leaves it to this job (bot/db/connection.py `Database.open(defer_check=True)`). It runs on its
own read-only connection in a thread (WAL lets it read beside the writer), so imports are not held up
meanwhile. A finding is never silent: the daemon stops importing (`on_damage`), an admin alert is posted
once, and no clean-shutdown marker is written, so the next start checks in full (and moves a damaged
file aside, asking for a backup).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import structlog

from bot.db import outbox, status
from bot.db.connection import Database
from bot.db.tx import DATABASE_ERRORS
from bot.ingest import posts

log = structlog.get_logger(__name__)

ALERT_KEY = "database_check"
START_DELAY_SECONDS = 60.0  # after a deferred start: the first polls go first
INTERVAL_SECONDS = 6 * 3600.0  # then on this schedule (well inside the 24 h a clean start may skip it)


async def full_check(db: Database) -> list[str]:
    """`PRAGMA quick_check` messages (["ok"] when healthy); an unreadable file is a finding too."""
    try:
        return await db.quick_check()
    except DATABASE_ERRORS as exc:
        return [f"unreadable: {exc}"]


async def run_check(
    db: Database, on_damage: Callable[[str], None], *, now: Callable[[], float] = time.time
) -> bool:
    """One full check; True when healthy. On a finding: `on_damage(reason)` first (imports stop), then
    the alert (the database may refuse that write: the log line and the stopped imports remain)."""
    started = time.monotonic()
    messages = await full_check(db)
    seconds = round(time.monotonic() - started, 2)
    if messages == ["ok"]:
        db.checked_at = now()
        db.check_deferred = False
        log.info("db_check_ok", db=db.where, seconds=seconds)
        return True
    reason = "; ".join(messages[:3])
    if db.engine == "postgresql":
        # No file to be damaged: a server that does not answer is a connection problem (the pollers'
        # writes fail and the refusal watch tells the admin), never a reason to stop importing for good.
        log.warning("db_check_unanswered", db=db.where, findings=reason)
        return False
    db.damaged = True
    on_damage(reason)
    log.error("db_check_failed", db=db.where, seconds=seconds, findings=reason)
    message = (
        f"database check found damage in {db.path.name}: {reason}. Imports are stopped; stop the daemon, "
        "restore the newest backup (docs/OPERATIONS.md), then `statsbot sync`"
    )
    at = now()
    try:
        async with db.transaction() as tx:
            if await status.open_alert(tx, ALERT_KEY, "error", message, at):
                await outbox.enqueue(
                    tx, kind=posts.KIND_ALERT, channel="admin", dedupe_key=f"alert:{ALERT_KEY}:{at:.6f}",
                    payload=posts.alert_payload(ALERT_KEY, "error", message), now=at,
                )  # fmt: skip
    except DATABASE_ERRORS as exc:
        log.error("db_check_alert_not_recorded", error=str(exc))
    return False
