"""Numbered schema migrations (migrations/NNNN_name.sql), each applied in one transaction."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from bot.errors import DatabaseError

log = structlog.get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    path: Path


def version_of(name: str, directory: Path = MIGRATIONS_DIR) -> int:
    """The number of the migration called `name` (e.g. 'players' → 3), whatever it was renumbered to."""
    for mig in discover(directory):
        if mig.name == name:
            return mig.version
    raise DatabaseError(f"no migration named {name!r}")


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in `directory`, ordered; numbers must be 1..N without gaps or repeats."""
    found: list[Migration] = []
    for path in directory.glob("*.sql"):
        m = _NAME.match(path.name)
        if m is None:
            raise DatabaseError(f"migration file {path.name} does not match NNNN_name.sql")
        found.append(Migration(int(m.group(1)), m.group(2), path))
    found.sort(key=lambda mig: mig.version)
    for expected, mig in enumerate(found, start=1):
        if mig.version != expected:
            raise DatabaseError(f"migrations must be numbered 1..N without gaps: {mig.path.name}")
    return found


def split_statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (executescript would COMMIT our transaction)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if _has_code(pending):
                statements.append(pending.strip())
            pending = ""
    if _has_code(pending):
        raise DatabaseError(f"incomplete SQL statement at end of migration: {pending.strip()[:80]!r}")
    return statements


def _has_code(sql: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in sql.splitlines())


def apply_migrations(
    conn: sqlite3.Connection, directory: Path = MIGRATIONS_DIR, *, upto: int | None = None
) -> int:
    """Bring the schema up to date; returns the resulting version.

    The version lives in `PRAGMA user_version` (set inside each migration's transaction, so a crash
    mid-migration leaves the previous version and the migration is redone) and in `schema_version`.
    A database newer than the code is refused rather than used with a schema we do not know.
    `conn` must be in autocommit mode (isolation_level=None): each migration is one BEGIN … COMMIT.
    `upto` stops after that version (benchmarks fill an older schema, then time the later migrations).
    """
    migrations = discover(directory)
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    latest = migrations[-1].version if migrations else 0
    if current > latest:
        raise DatabaseError(
            f"database schema version {current} is newer than this statsbot ({latest}): upgrade statsbot"
        )
    for mig in migrations:
        if mig.version <= current or (upto is not None and mig.version > upto):
            continue
        statements = split_statements(mig.path.read_text(encoding="utf-8"))
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process (the daemon and `statsbot health` starting together) may have applied it
            # between our first read and this write lock: re-read under the lock.
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if current >= mig.version:
                conn.execute("COMMIT")
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version(version, name, applied_at) VALUES (?, ?, ?)",
                (mig.version, mig.name, time.time()),
            )
            # PRAGMA takes no bound parameters; the version is an int from the file name.
            conn.execute(f"PRAGMA user_version = {int(mig.version)}")
            conn.execute("COMMIT")
        except BaseException:
            # Nothing of this migration stays; PRAGMA user_version is transactional too.
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        log.info("db_migrated", version=mig.version, name=mig.name)
        current = mig.version
    return current
