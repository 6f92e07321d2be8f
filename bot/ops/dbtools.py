"""`statsbot db check|backup`: full integrity check, online backups with rotation (also a scheduled job)."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import structlog

from bot.db.connection import Database
from bot.errors import DatabaseError

log = structlog.get_logger(__name__)

BACKUP_PREFIX = "statsbot-"
BACKUP_SUFFIX = ".db"


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of `statsbot db check`."""

    path: Path
    ok: bool
    messages: tuple[str, ...]  # ("ok",) when healthy, else what integrity_check (or opening) reported
    size_bytes: int
    wal_bytes: int


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


async def check_database(path: Path) -> CheckResult:
    """Open the database (without the instance lock: it may run beside the daemon) and run integrity_check.

    A file SQLite cannot read at all is moved aside by `Database.open` and reported, never replaced.
    """
    wal = path.with_name(path.name + "-wal")
    if not await asyncio.to_thread(path.exists):
        return CheckResult(path, False, (f"{path} does not exist",), 0, 0)
    try:
        db = await Database.open(path, lock=False)
    except DatabaseError as exc:
        return CheckResult(path, False, (str(exc),), _size(path), _size(wal))
    try:
        messages = tuple(await db.integrity_check())
    finally:
        await db.close()
    return CheckResult(path, messages == ("ok",), messages, _size(path), _size(wal))


def _verify_copy(path: Path) -> list[str]:
    # Opened read-only through a URI: verifying a backup must never modify it.
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


def list_backups(folder: Path) -> list[Path]:
    """Backups in `folder`, oldest first (the UTC timestamp in the name sorts chronologically)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"{BACKUP_PREFIX}*{BACKUP_SUFFIX}") if p.is_file())


def rotate_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups; returns the deleted paths."""
    backups = list_backups(folder)
    doomed = backups[: max(0, len(backups) - keep)]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


async def backup_database(db: Database, folder: Path, *, keep: int, now: dt.datetime | None = None) -> Path:
    """Online backup into `folder/statsbot-<UTC ts>.db`, verified with integrity_check, then rotation.

    Raises DatabaseError when the copy does not verify (the bad copy is removed, older ones are kept).
    """
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    dest = folder / f"{BACKUP_PREFIX}{stamp}{BACKUP_SUFFIX}"
    await db.backup(dest)
    problems = await asyncio.to_thread(_verify_copy, dest)
    if problems != ["ok"]:
        dest.unlink(missing_ok=True)
        raise DatabaseError(f"backup {dest} failed verification: {'; '.join(problems[:5])}")
    removed = rotate_backups(folder, keep)
    log.info("db_backup_done", path=str(dest), kept=keep, removed=[p.name for p in removed])
    return dest
