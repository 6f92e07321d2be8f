"""`statsbot db backup` on PostgreSQL (also the scheduled backup job): pg_dump when it is installed, else
a logical copy into a SQLite file (bot/db/sqlite_copy.py). docs/OPERATIONS.md §12 "Backups on PostgreSQL".

- `statsbot-<UTC ts>.dump`: pg_dump's custom format, checked with `pg_restore --list` when pg_restore is
  there; restore with `pg_restore --clean --if-exists --no-owner --dbname URL FILE`.
- `statsbot-<UTC ts>.db` (no pg_dump): a SQLite database with every table, verified table by table
  against the snapshot it was read from; restore with `statsbot db migrate --from FILE --to URL --force`.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import structlog

from bot.db.connection import Database
from bot.db.sqlite_copy import logical_backup
from bot.errors import DatabaseError
from bot.ops.dbtools import DUMP_SUFFIX

log = structlog.get_logger(__name__)


async def backup_postgresql(db: Database, folder: Path, stamp: str, prefix: str) -> Path:
    """One backup of the PostgreSQL database `db` into `folder` (written beside, renamed when good)."""
    url = getattr(db, "url", None)
    if not isinstance(url, str):
        raise DatabaseError("not a PostgreSQL database")
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    if shutil.which("pg_dump") is not None:
        dest = folder / f"{prefix}{stamp}{DUMP_SUFFIX}"
        await db.backup(dest)
        await _check_dump(dest)
        return dest
    dest = folder / f"{prefix}{stamp}.db"
    part = dest.with_name(dest.name + ".part")
    part.unlink(missing_ok=True)
    log.info("db_backup_logical", reason="pg_dump is not installed", path=str(dest))
    try:
        bad = await asyncio.to_thread(logical_backup, url, part)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    if bad:
        part.unlink(missing_ok=True)
        raise DatabaseError(f"backup {dest} failed verification: {', '.join(bad)} differ")
    part.replace(dest)
    return dest


async def _check_dump(dest: Path) -> None:
    restore = shutil.which("pg_restore")
    if restore is None:  # pg_dump's own exit status is the check
        return
    proc = await asyncio.create_subprocess_exec(
        restore, "--list", str(dest), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        await asyncio.to_thread(dest.unlink, missing_ok=True)
        raise DatabaseError(f"backup {dest} failed verification (pg_restore --list): {err.decode().strip()}")
