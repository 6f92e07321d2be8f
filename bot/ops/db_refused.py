"""When the database refuses writes (disk full, I/O error, read-only), the admin still hears of it.

Every alert goes through the outbox, which is a database write: with the database's disk full none can
be raised. This watch sees the scheduler's failed jobs; on a refusal it sends ONE direct notice through
the chat sink (bypassing the outbox) per condition and process, logs one warning and then a reminder
every REMINDER_SECONDS instead of a line per poll, and sends a recovery notice when the refused job runs
again without error. Best-effort: the database cannot record that a notice went out (docs/OPERATIONS.md).
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog

from bot.db.tx import EngineError

log = structlog.get_logger(__name__)

REMINDER_SECONDS = 600.0  # the repeated failure is logged again this often, not once per poll
# SQLite's words for "cannot write" (SQLITE_FULL, SQLITE_IOERR, SQLITE_READONLY) -> condition.
_CONDITIONS = (
    ("database or disk is full", "disk full"),
    ("disk i/o error", "disk I/O error"),
    ("readonly database", "read-only"),
)

# PostgreSQL's error codes for the same conditions (and a server that cannot be reached, class 08).
_SQLSTATES = {"53100": "disk full", "58030": "disk I/O error", "25006": "read-only", "53200": "out of memory"}

Send = Callable[[str], Awaitable[None]]


def refusal(exc: BaseException | None) -> str | None:
    """The condition ('disk full', 'disk I/O error', 'read-only') if `exc` or its cause refused a write."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, EngineError) and exc.sqlstate is not None:
            if exc.sqlstate.startswith("08"):
                return "unreachable"
            if exc.sqlstate in _SQLSTATES:
                return _SQLSTATES[exc.sqlstate]
        if isinstance(exc, sqlite3.Error | OSError):
            text = str(exc).lower()
            for words, condition in _CONDITIONS:
                if words in text:
                    return condition
        exc = exc.__cause__ or exc.__context__
    return None


def free_space(path: Path) -> str:
    """The free space of the disk holding `path`, for people ('12.0 MB free', or why it is unknown)."""
    try:
        free = shutil.disk_usage(path.parent if not path.is_dir() else path).free
    except OSError as exc:
        return f"free space unknown ({exc.strerror or exc})"
    return f"{free / 1_000_000:.1f} MB free"


class DbRefusalWatch:
    """Hooked into the scheduler (`on_error` / `on_success`); `send` posts straight to the admin channel."""

    def __init__(self, where: Path | str, send: Send, *, clock: Callable[[], float] = time.monotonic) -> None:
        """`where`: the SQLite file (its disk's free space is reported), or the PostgreSQL URL (shown
        without its password; the disk is the server's, so no local free space is reported)."""
        from bot.db.pg_database import redacted

        self._db_path = where if isinstance(where, Path) else redacted(where)
        self._send = send
        self._clock = clock
        self._noticed: set[str] = set()  # conditions already sent in this process
        self._active: str | None = None
        self._refused_jobs: set[str] = set()
        self._failures = 0
        self._logged_at = 0.0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def active(self) -> str | None:
        return self._active

    def on_error(self, job_id: str, exc: BaseException | None) -> bool:
        """True when the failure was a refused write (handled here: the scheduler logs nothing more)."""
        condition = refusal(exc)
        if condition is None:
            return False
        self._refused_jobs.add(job_id)
        self._failures += 1
        now = self._clock()
        if self._active != condition:
            self._active = condition
            self._failures, self._logged_at = 1, now
            log.warning(
                "database_refuses_writes",
                condition=condition,
                db=str(self._db_path),
                free=self._free(),
                job=job_id,
                error=str(exc),
            )
            if condition not in self._noticed:
                self._noticed.add(condition)
                self._notify(self._refused_text(condition))
        elif now - self._logged_at >= REMINDER_SECONDS:
            self._logged_at = now
            log.warning(
                "database_still_refuses_writes",
                condition=condition,
                failures=self._failures,
                db=str(self._db_path),
                free=self._free(),
            )
        return True

    def on_success(self, job_id: str) -> None:
        """A job that was refused ran without error: its writes commit again."""
        if self._active is None or job_id not in self._refused_jobs:
            return
        condition, self._active = self._active, None
        self._refused_jobs.clear()
        log.info("database_writes_recovered", condition=condition, failures=self._failures, job=job_id)
        self._notify(
            f"RESOLVED statsbot: the database {self._db_path} accepts writes again ({condition} is over; "
            f"{self._free()}). Imports and posts resume."
        )

    def _free(self) -> str:
        if isinstance(self._db_path, Path):
            return free_space(self._db_path)
        return "free space: see the PostgreSQL server"

    def _refused_text(self, condition: str) -> str:
        if not isinstance(self._db_path, Path):
            return (
                f"ALERT statsbot: the database {self._db_path} refuses writes ({condition}). Nothing is "
                "imported and no alert can be queued until it can write again: fix the PostgreSQL server "
                "(its disk, its state, the network to it). This notice is sent once "
                "(docs/OPERATIONS.md, 'Database refuses writes')."
            )
        return (
            f"ALERT statsbot: the database {self._db_path} refuses writes ({condition}; "
            f"{free_space(self._db_path)}). Nothing is imported and no alert can be queued until it "
            "can write again: free space on that disk (or fix its permissions / the disk). "
            "This notice is sent once (docs/OPERATIONS.md, 'Database refuses writes')."
        )

    def _notify(self, text: str) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(text), name="db-refused-notice")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, text: str) -> None:
        try:
            await self._send(text)
        except Exception as exc:  # best-effort: the log line above is what remains
            log.warning("database_refusal_notice_failed", error=f"{type(exc).__name__}: {exc}")

    async def close(self) -> None:
        """Let notices still being sent finish (briefly); cancel the rest."""
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=5.0)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
