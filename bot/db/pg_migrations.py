"""PostgreSQL schema migrations (migrations/postgresql/NNNN_name.sql), each applied in one transaction.

The twin of bot.db.migrations_runner for the second backend: one PostgreSQL file per SQLite migration,
same numbers and names (checked here and by tests/db/test_pg_schema.py), same end state per version.
PostgreSQL has no `PRAGMA user_version`: the version is max(version) of `schema_version`, written in
the migration's own transaction. Concurrent starters (two instances against one database) are
serialised by an advisory lock held while migrating; each re-reads the version under it.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

import psycopg
import structlog

from bot.db.migrations_runner import MIGRATIONS_DIR, Migration, discover
from bot.errors import DatabaseError

log = structlog.get_logger(__name__)

PG_MIGRATIONS_DIR = MIGRATIONS_DIR / "postgresql"

# pg_advisory_lock key of "a migration is being applied" (any fixed bigint; this one spells
# 'statsmig' in ASCII). Advisory locks are per database: two databases on one server do not wait for
# each other.
MIGRATION_LOCK_KEY = 0x73746174736D6967


def discover_pg(directory: Path = PG_MIGRATIONS_DIR, *, sqlite_dir: Path | None = None) -> list[Migration]:
    """The PostgreSQL migrations, ordered (1..N without gaps, like the SQLite ones).

    With `sqlite_dir` (the default when `directory` is the shipped one) the list must match the SQLite
    list number for number and name for name: a migration added to one dialect only is refused.
    """
    found = discover(directory)
    if sqlite_dir is None and directory == PG_MIGRATIONS_DIR:
        sqlite_dir = MIGRATIONS_DIR
    if sqlite_dir is not None:
        check_same_list(discover(sqlite_dir), found)
    return found


def check_same_list(sqlite: list[Migration], postgresql: list[Migration]) -> None:
    """Refuse PostgreSQL migrations that do not mirror the SQLite ones (number and name)."""
    mine = [(m.version, m.name) for m in postgresql]
    theirs = [(m.version, m.name) for m in sqlite]
    if mine == theirs:
        return
    missing = sorted(set(theirs) - set(mine))
    extra = sorted(set(mine) - set(theirs))
    raise DatabaseError(
        "PostgreSQL migrations must mirror the SQLite ones (same numbers and names): "
        f"missing {[f'{v:04d}_{n}' for v, n in missing]}, extra {[f'{v:04d}_{n}' for v, n in extra]}"
    )


def current_version(conn: psycopg.Connection[Any]) -> int:
    """The schema version: max(version) of schema_version, 0 for an empty database."""
    row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row is not None else 0


def apply_pg_migrations(
    conn: psycopg.Connection[Any], directory: Path = PG_MIGRATIONS_DIR, *, upto: int | None = None
) -> int:
    """Bring the PostgreSQL schema up to date; returns the resulting version.

    `conn` must be in autocommit mode (`psycopg.connect(url, autocommit=True)`): the runner issues
    BEGIN … COMMIT itself, one transaction per migration (DDL is transactional in PostgreSQL, so a
    failed or interrupted migration leaves nothing and is redone). A database newer than the code is
    refused. `upto` stops after that version, like apply_migrations.
    """
    if not conn.autocommit:
        raise DatabaseError("apply_pg_migrations needs a connection in autocommit mode")
    migrations = discover_pg(directory)
    latest = migrations[-1].version if migrations else 0
    current = current_version(conn)
    _refuse_newer(current, latest)
    if not any(_wanted(mig, current, upto) for mig in migrations):
        return current
    # Session-level, taken OUTSIDE the migration transactions: a transaction that waited for an
    # xact-level lock would still resolve table names through catalog caches from before the other
    # starter's COMMIT (to_regclass('schema_version') stayed NULL: the concurrent test saw 0001 run
    # twice). Each BEGIN after the lock starts with fresh caches and a fresh snapshot.
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
    try:
        for mig in migrations:
            if not _wanted(mig, current, upto):
                continue
            conn.execute("BEGIN")
            try:
                # Another instance may have applied it before we got the lock: re-read.
                current = current_version(conn)
                _refuse_newer(current, latest)
                if current >= mig.version:
                    conn.execute("COMMIT")
                    continue
                # No parameters: psycopg sends the whole script as one simple query (several
                # statements, PL/pgSQL bodies with their own semicolons), inside our transaction.
                conn.execute(mig.path.read_text(encoding="utf-8").encode("utf-8"))
                conn.execute(
                    "INSERT INTO schema_version(version, name, applied_at) VALUES (%s, %s, %s)",
                    (mig.version, mig.name, time.time()),
                )
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(psycopg.Error):
                    conn.execute("ROLLBACK")
                raise
            log.info("db_migrated", version=mig.version, name=mig.name, backend="postgresql")
            current = mig.version
    finally:
        with contextlib.suppress(psycopg.Error):  # a dead connection released it already
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    return current


def _wanted(mig: Migration, current: int, upto: int | None) -> bool:
    return mig.version > current and (upto is None or mig.version <= upto)


def _refuse_newer(current: int, latest: int) -> None:
    if current > latest:
        raise DatabaseError(
            f"database schema version {current} is newer than this statsbot ({latest}): upgrade statsbot"
        )
