"""Start-up safety of the database file: the single-instance lock, the corruption check and the
clean-shutdown marker that lets a start after a clean stop leave that check to the background."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import sqlite3
import time
from pathlib import Path

import structlog

from bot.errors import DatabaseError

log = structlog.get_logger(__name__)


def acquire_lock(path: Path) -> int:
    """flock `<db>.lock` (holding our pid); DatabaseError "already running (pid N)" if another holds it."""
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        # flock is released by the kernel when the process dies, so a crash never leaves a stale lock.
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise DatabaseError(f"{path}: statsbot already running (pid {holder})") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def release_lock(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def marker_path(path: Path) -> Path:
    return path.with_name(path.name + ".clean-shutdown")


def write_clean_marker(path: Path, *, checked_at: float | None) -> None:
    """After a clean close: say so beside the database (fsynced), with when its last full check passed."""
    marker = marker_path(path)
    part = marker.with_name(marker.name + ".part")
    with open(part, "w", encoding="utf-8") as handle:
        json.dump({"closed_at": time.time(), "checked_at": checked_at}, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(part, marker)
    _fsync_dir(path.parent)


def take_clean_marker(path: Path) -> float | None:
    """Remove the marker (a crash from now on must leave none) and return when the last full check
    passed; None without a marker (crash, kill, power loss, first start) or with an unreadable one."""
    marker = marker_path(path)
    try:
        text = marker.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    marker.unlink()
    _fsync_dir(path.parent)
    try:
        checked_at = json.loads(text).get("checked_at")
    except (ValueError, AttributeError):
        return None
    return float(checked_at) if isinstance(checked_at, int | float) else None


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_or_move_aside(path: Path, *, holds_lock: bool = True, check: bool = True) -> sqlite3.Connection:
    """Connect (autocommit), run `PRAGMA quick_check`; a damaged file is moved aside, DatabaseError raised.

    Only the instance-lock holder moves a file: a read-only command (`health` from a Docker HEALTHCHECK,
    `diagnose`) that finds corruption while the daemon runs must not rename the file from under it. Without
    the lock it takes the lock just for the move when nobody holds it, else it only reports.

    A missing database beside a `<name>.corrupt-*` file is refused too: after a corrupt database was
    moved aside, a restart (systemd, Docker) must not silently begin again from an empty one and
    re-import and re-post every server's whole history.
    """
    if not path.exists():
        corrupt_copies = sorted(path.parent.glob(f"{path.name}.corrupt-*"))
        if corrupt_copies:
            raise DatabaseError(
                f"{path} is missing and {corrupt_copies[-1].name} beside it was moved aside as corrupt: "
                f"restore a backup to {path} (statsbot db backup files, docs/OPERATIONS.md), or move the "
                ".corrupt file(s) elsewhere and start with `--accept-data-loss` to begin again from an "
                "empty database on purpose (what it held is imported again without posts)"
            )
    if not check and _size_mismatch(path) is not None:
        check = True  # shorter than its own header says (truncated, a partial copy): check in full now
    # isolation_level=None: no implicit transactions, we issue BEGIN IMMEDIATE ourselves.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        # `check` False (a start after a clean shutdown): only the header is read here, the full check
        # runs in the background (bot/ops/dbcheck.py); a file that is not a database still fails now.
        sql = "PRAGMA quick_check" if check else "PRAGMA schema_version"
        problems = [str(r[0]) for r in conn.execute(sql).fetchall()]
        reason = None if problems == ["ok"] or not check else "; ".join(problems[:5])
    except sqlite3.DatabaseError as exc:
        reason = str(exc)
    if reason is None:
        return conn
    conn.close()
    if not holds_lock:
        try:
            fd = acquire_lock(path)
        except DatabaseError:
            raise DatabaseError(
                f"{path} is corrupt ({reason}); the running statsbot holds it: stop the daemon, then "
                "`statsbot db check` moves it aside (restore a backup: docs/OPERATIONS.md)"
            ) from None
        try:
            raise _moved_aside(path, reason)
        finally:
            release_lock(fd)
    raise _moved_aside(path, reason)


def _size_mismatch(path: Path) -> str | None:
    """Why the file cannot be the database its header describes (cheap: 100 bytes and a stat), or None.

    After a clean shutdown the WAL was checkpointed into the file, so its length is exactly the header's
    page count times the page size (when the header's count is valid: its change counter matches).
    """
    try:
        with open(path, "rb") as handle:
            header = handle.read(100)
        length = os.path.getsize(path)
    except FileNotFoundError:
        return None
    if len(header) < 100:
        return None if length == 0 else f"{length} bytes: shorter than a database header"
    if not header.startswith(b"SQLite format 3\0"):
        return None  # not a database at all: opening it fails on its own
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages, counter, valid_for = (int.from_bytes(header[i : i + 4], "big") for i in (28, 24, 92))
    if counter == valid_for and pages * page_size > length:
        return f"{length} bytes, header says {pages} pages of {page_size}"
    if page_size and length % page_size:
        return f"{length} bytes: not a whole number of {page_size}-byte pages"
    return None


def _moved_aside(path: Path, reason: str) -> DatabaseError:
    """Move the corrupt file aside and return the error that says where it went."""
    moved = _move_aside(path)
    log.error("db_corrupt", path=str(path), moved_to=str(moved), reason=reason)
    return DatabaseError(f"{path} is corrupt ({reason}); moved aside to {moved.name}, restore a backup")


def _move_aside(path: Path) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    if target.exists():
        target = path.with_name(f"{target.name}-{time.monotonic_ns()}")
    os.replace(path, target)
    # The -wal/-shm belong to that file: keep them with it so nothing replays into a new database.
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    return target
