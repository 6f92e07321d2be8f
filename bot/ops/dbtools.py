"""`statsbot db check|backup`: full integrity check, online backups with rotation (also a scheduled job)."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import structlog

from bot.db import orphans as dborphans
from bot.db.connection import Database
from bot.errors import DatabaseError
from bot.ops.db_integrity import logical_checks, orphan_lines

log = structlog.get_logger(__name__)

BACKUP_PREFIX = "statsbot-"
BACKUP_SUFFIX = ".db"
DUMP_SUFFIX = ".dump"  # pg_dump's custom format (PostgreSQL: bot/ops/pg_backup.py)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of `statsbot db check`."""

    path: Path
    ok: bool
    messages: tuple[str, ...]  # ("ok",) when healthy, else what integrity_check (or opening) reported
    size_bytes: int
    wal_bytes: int
    details: tuple[str, ...] = ()  # what the logical checks saw: schema version, counts (db_integrity)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def corrupt_copies(path: Path) -> list[Path]:
    """Files `<db>.corrupt-<UTC ts>` a corruption check moved aside, oldest first (not their -wal/-shm)."""
    found = path.parent.glob(f"{path.name}.corrupt-*") if path.parent.is_dir() else []
    return sorted(p for p in found if not p.name.endswith(COMPANION_SUFFIXES))


def restore_advice(path: Path, backup_dir: Path | None) -> str:
    """The restore procedure, naming the newest backup when there is one (docs/OPERATIONS.md §3)."""
    newest = list_backups(backup_dir)[-1:] if backup_dir is not None else []
    copy = (
        f"`cp -p {newest[0]} {path}`"
        if newest
        else f"copy the newest backup (statsbot-<UTC ts>.db) to {path}"
    )
    return (
        f"restore: stop the daemon, {copy}, then `statsbot db check` and `statsbot diagnose` "
        "(docs/OPERATIONS.md §3); do not start the daemon on an empty database (it would import and post "
        "every file on the servers again)"
    )


def missing_message(path: Path, backup_dir: Path | None = None) -> str:
    """What every command says when the configured database file is not there: a wrong --config or working
    directory, or a database moved aside as corrupt (then: which file, and how to restore)."""
    moved = corrupt_copies(path)
    if not moved:
        return f"no database at {path} (check --config and the working directory)"
    return (
        f"no database at {path}: it was moved aside as corrupt to {moved[-1]} (kept, never deleted); "
        + restore_advice(path, backup_dir)
    )


async def check_database(path: Path) -> CheckResult:
    """Open the database (without the instance lock: it may run beside the daemon), run integrity_check
    and then `PRAGMA foreign_key_check` (orphan rows a hand DELETE with foreign keys off leaves behind).

    A file SQLite cannot read at all is moved aside by `Database.open` and reported, never replaced.
    """
    wal = path.with_name(path.name + "-wal")
    if not await asyncio.to_thread(path.exists):
        return CheckResult(path, False, (missing_message(path),), 0, 0)
    try:
        db = await Database.open(path, lock=False)
    except DatabaseError as exc:
        return CheckResult(path, False, (str(exc),), _size(path), _size(wal))
    details: list[str] = []
    try:
        messages = tuple(await db.integrity_check())
        # A damaged file can make the foreign key check fail or lie: only check a file that reads well.
        if messages == ("ok",):
            findings = orphan_lines(await dborphans.foreign_key_violations(db))
            more, details = await logical_checks(db)  # the checks PostgreSQL runs too
            messages = tuple(findings + more) or messages
    finally:
        await db.close()
    return CheckResult(path, messages == ("ok",), messages, _size(path), _size(wal), tuple(details))


COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")


def _verify_copy(path: Path) -> list[str]:
    # The online backup copies the WAL flag from the live database: opened as it is, the copy grows
    # -wal/-shm companions and is no longer one self-contained file. Switching it to a rollback journal
    # (nothing else is open on a fresh copy) checkpoints and drops them, before it is verified and closed.
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=DELETE")
        return [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()


def _companions(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in COMPANION_SUFFIXES]


def list_backups(folder: Path) -> list[Path]:
    """Backups in `folder` (SQLite files and pg_dump files), oldest first (the UTC timestamp in the name
    sorts chronologically)."""
    if not folder.is_dir():
        return []
    found = [*folder.glob(f"{BACKUP_PREFIX}*{BACKUP_SUFFIX}"), *folder.glob(f"{BACKUP_PREFIX}*{DUMP_SUFFIX}")]
    return sorted((p for p in found if p.is_file()), key=lambda p: p.name)


def rotate_backups(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups, each with its -wal/-shm/-journal companions, and
    companions whose backup is gone (older versions left them behind); returns the deleted backups."""
    backups = list_backups(folder)
    doomed = backups[: max(0, len(backups) - keep)]
    for path in doomed:
        for companion in _companions(path):
            companion.unlink(missing_ok=True)
        path.unlink(missing_ok=True)
    for suffix in COMPANION_SUFFIXES:
        for stray in folder.glob(f"{BACKUP_PREFIX}*{BACKUP_SUFFIX}{suffix}"):
            if not stray.with_name(stray.name[: -len(suffix)]).exists():
                stray.unlink(missing_ok=True)
    return doomed


async def backup_database(db: Database, folder: Path, *, keep: int, now: dt.datetime | None = None) -> Path:
    """Online backup into `folder/statsbot-<UTC ts>.db` (one self-contained file), verified, then rotation.
    On PostgreSQL: `statsbot-<UTC ts>.dump` by pg_dump, or a SQLite file without it (bot/ops/pg_backup.py).

    Raises DatabaseError when the copy does not verify (the bad copy is removed, older ones are kept).
    """
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    if db.engine == "postgresql":  # pg_dump, else a verified logical copy into SQLite (bot/ops/pg_backup.py)
        from bot.ops.pg_backup import backup_postgresql

        dest = await backup_postgresql(db, folder, stamp, BACKUP_PREFIX)
        removed = rotate_backups(folder, keep)
        log.info("db_backup_done", path=str(dest), kept=keep, removed=[p.name for p in removed])
        return dest
    dest = folder / f"{BACKUP_PREFIX}{stamp}{BACKUP_SUFFIX}"
    await db.backup(dest)
    problems = await asyncio.to_thread(_verify_copy, dest)
    if problems != ["ok"]:
        for companion in _companions(dest):
            companion.unlink(missing_ok=True)
        dest.unlink(missing_ok=True)
        raise DatabaseError(f"backup {dest} failed verification: {'; '.join(problems[:5])}")
    removed = rotate_backups(folder, keep)
    log.info("db_backup_done", path=str(dest), kept=keep, removed=[p.name for p in removed])
    return dest
