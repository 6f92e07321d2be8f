"""The PostgreSQL migration runner against a real server (throw-away database / schema per test)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.db.migrations_runner import MIGRATIONS_DIR, discover
from bot.db.pg_migrations import (
    MIGRATION_LOCK_KEY,
    PG_MIGRATIONS_DIR,
    apply_pg_migrations,
    check_same_list,
    current_version,
    discover_pg,
)
from bot.errors import DatabaseError
from tests.helpers import pg

LATEST = len(discover())


def _versions(conn: psycopg.Connection[Any]) -> list[tuple[int, str]]:
    return [
        (int(r[0]), str(r[1]))
        for r in conn.execute("SELECT version, name FROM schema_version ORDER BY version")
    ]


def test_postgresql_list_mirrors_sqlite_list() -> None:
    sqlite = [(m.version, m.name) for m in discover(MIGRATIONS_DIR)]
    postgresql = [(m.version, m.name) for m in discover_pg(PG_MIGRATIONS_DIR)]
    assert postgresql == sqlite
    assert len(sqlite) >= 11


def test_a_migration_in_one_dialect_only_is_refused(tmp_path: Path) -> None:
    sqlite_dir, pg_dir = tmp_path / "sqlite", tmp_path / "pg"
    sqlite_dir.mkdir()
    pg_dir.mkdir()
    for d in (sqlite_dir, pg_dir):
        (d / "0001_initial.sql").write_text("SELECT 1;\n")
    (sqlite_dir / "0002_more.sql").write_text("SELECT 1;\n")
    with pytest.raises(DatabaseError, match=r"mirror the SQLite ones.*missing \['0002_more'\], extra \[\]"):
        discover_pg(pg_dir, sqlite_dir=sqlite_dir)
    (pg_dir / "0002_other.sql").write_text("SELECT 1;\n")
    with pytest.raises(DatabaseError, match=r"missing \['0002_more'\], extra \['0002_other'\]"):
        discover_pg(pg_dir, sqlite_dir=sqlite_dir)
    (pg_dir / "0002_other.sql").rename(pg_dir / "0002_more.sql")
    assert [m.name for m in discover_pg(pg_dir, sqlite_dir=sqlite_dir)] == ["initial", "more"]
    check_same_list(discover(sqlite_dir), discover(pg_dir))


def test_numbering_gap_is_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_initial.sql").write_text("SELECT 1;\n")
    (tmp_path / "0003_later.sql").write_text("SELECT 1;\n")
    with pytest.raises(DatabaseError, match=r"1\.\.N without gaps"):
        discover_pg(tmp_path)


def test_fresh_database_gets_every_migration_once(pg_conn: psycopg.Connection[Any]) -> None:
    assert current_version(pg_conn) == 0
    assert apply_pg_migrations(pg_conn) == LATEST
    assert _versions(pg_conn) == [(m.version, m.name) for m in discover()]
    assert current_version(pg_conn) == LATEST
    # The runner left no transaction open: the connection is idle, and autocommit still.
    assert pg_conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    row = pg_conn.execute("SELECT count(*), min(length(instance_id)) FROM instance").fetchone()
    assert row == (1, 32)


def test_reapplying_is_a_no_op(pg_conn: psycopg.Connection[Any]) -> None:
    apply_pg_migrations(pg_conn)
    before = pg_conn.execute("SELECT version, applied_at FROM schema_version ORDER BY version").fetchall()
    instance = pg_conn.execute("SELECT instance_id FROM instance").fetchall()
    assert apply_pg_migrations(pg_conn) == LATEST
    assert (
        pg_conn.execute("SELECT version, applied_at FROM schema_version ORDER BY version").fetchall()
        == before
    )
    assert pg_conn.execute("SELECT instance_id FROM instance").fetchall() == instance


def test_upto_stops_then_continues(pg_conn: psycopg.Connection[Any]) -> None:
    assert apply_pg_migrations(pg_conn, upto=6) == 6
    assert [v for v, _ in _versions(pg_conn)] == [1, 2, 3, 4, 5, 6]
    assert pg_conn.execute("SELECT to_regclass('players')").fetchone() == (None,)
    assert apply_pg_migrations(pg_conn) == LATEST
    assert pg_conn.execute("SELECT to_regclass('players') IS NOT NULL").fetchone() == (True,)


def test_newer_schema_is_refused(pg_conn: psycopg.Connection[Any]) -> None:
    apply_pg_migrations(pg_conn)
    pg_conn.execute(
        "INSERT INTO schema_version(version, name, applied_at) VALUES (%s, 'from_the_future', 0)",
        (LATEST + 1,),
    )
    with pytest.raises(
        DatabaseError, match=rf"schema version {LATEST + 1} is newer than this statsbot \({LATEST}\)"
    ):
        apply_pg_migrations(pg_conn)


def test_connection_must_be_autocommit(pg_url: str) -> None:
    with psycopg.connect(pg_url) as conn, pytest.raises(DatabaseError, match="autocommit"):
        apply_pg_migrations(conn)


def test_failed_migration_leaves_nothing_and_is_redone(
    pg_conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    (tmp_path / "0001_initial.sql").write_text(
        "CREATE TABLE schema_version (version BIGINT PRIMARY KEY, name TEXT, applied_at DOUBLE PRECISION);\n"
        "CREATE TABLE a (x BIGINT);\n"
    )
    (tmp_path / "0002_more.sql").write_text("CREATE TABLE b (y BIGINT);\nINSERT INTO nowhere VALUES (1);\n")
    with pytest.raises(psycopg.errors.UndefinedTable, match="nowhere"):
        apply_pg_migrations(pg_conn, tmp_path)
    assert current_version(pg_conn) == 1
    assert pg_conn.execute("SELECT to_regclass('a') IS NOT NULL, to_regclass('b') IS NULL").fetchone() == (
        True,
        True,
    )
    assert pg_conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    (tmp_path / "0002_more.sql").write_text("CREATE TABLE b (y BIGINT);\n")
    assert apply_pg_migrations(pg_conn, tmp_path) == 2


def test_a_starter_waits_for_the_migration_lock(pg_database_url: str) -> None:
    """While another session holds the migration lock, a starter applies nothing; then it proceeds.
    (Its own database: advisory locks are per database, other tests' schemas would share this one.)"""
    result: list[int | BaseException] = []

    def starter() -> None:
        try:
            with pg.connect(pg_database_url) as conn:
                result.append(apply_pg_migrations(conn))
        except BaseException as exc:  # reported to the test thread
            result.append(exc)

    with pg.connect(pg_database_url) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        thread = threading.Thread(target=starter)
        thread.start()
        time.sleep(1.0)
        assert thread.is_alive()
        assert result == []
        with pg.connect(pg_database_url) as probe:
            assert current_version(probe) == 0  # 0001 waits uncommitted behind the lock
        holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
    thread.join(timeout=30)
    assert result == [LATEST]


def test_concurrent_appliers_end_at_the_same_version(pg_database_url: str) -> None:
    barrier = threading.Barrier(3)
    results: list[int | BaseException] = []

    def starter() -> None:
        try:
            with pg.connect(pg_database_url) as conn:
                barrier.wait()
                results.append(apply_pg_migrations(conn))
        except BaseException as exc:  # reported to the test thread
            results.append(exc)

    threads = [threading.Thread(target=starter) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [LATEST, LATEST, LATEST]
    with pg.connect(pg_database_url) as conn:
        assert _versions(conn) == [(m.version, m.name) for m in discover()]


def test_unreachable_server_is_named_with_the_fix() -> None:
    with pytest.raises(pg.PostgresUnavailable, match=r"cannot reach it at .*127\.0\.0\.1:1/.*pg_ctlcluster"):
        pg.check_admin("postgresql://postgres@127.0.0.1:1/postgres")


def test_without_postgresql_the_tests_fail_not_skip() -> None:
    """`make test` on a machine without PostgreSQL must say so, never pass silently."""
    env = {**os.environ, pg.ADMIN_URL_ENV: "postgresql://postgres@127.0.0.1:1/postgres"}
    test = "tests/db/test_pg_migrations.py::test_fresh_database_gets_every_migration_once"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", test],
        cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode != 0, proc.stdout
    assert "1 error" in proc.stdout
    assert "skipped" not in proc.stdout
    assert "pg_ctlcluster --skip-systemctl-redirect 15 main start" in proc.stdout
    assert pg.ADMIN_URL_ENV in proc.stdout
