"""Database.open: migrations, health check, schema version, instance lock; transactions; backup."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from bot.db.connection import Database
from bot.db.migrations_runner import apply_migrations, discover, split_statements
from bot.db.tx import DRIVER_ERRORS
from bot.errors import DatabaseError
from tests.helpers import pg

PROJECT = Path(__file__).resolve().parents[2]


def _sqlite(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def test_fresh_file_gets_every_migration(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "s.db"
    async with await Database.open(path) as db:
        applied = [tuple(r) for r in await db.fetchall("SELECT version, name FROM schema_version")]
        assert applied == [(m.version, m.name) for m in discover()]
        assert applied[0] == (1, "initial")
        tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"rounds", "player_stats", "processed_files", "outbox", "sessions", "alerts"} <= tables
        assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"  # type: ignore[index]
        assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1  # type: ignore[index]
    assert _sqlite(path, "PRAGMA user_version") == [(len(discover()),)]


async def test_reopen_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with await Database.open(path) as db:
        await db.execute("INSERT INTO alerts VALUES ('k', 'warning', 'm', 1, NULL)")
    async with await Database.open(path) as db:
        assert len(await db.fetchall("SELECT * FROM schema_version")) == len(discover())
        assert [r[0] for r in await db.fetchall("SELECT key FROM alerts")] == ["k"]


async def test_corrupt_file_is_moved_aside_never_replaced(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    junk = b"this is not a database" * 500
    path.write_bytes(junk)
    with pytest.raises(DatabaseError, match="corrupt"):
        await Database.open(path)
    assert not path.exists()  # nothing silently created in its place
    moved = list(tmp_path.glob("s.db.corrupt-*"))
    assert len(moved) == 1
    assert moved[0].read_bytes() == junk
    # A restart (systemd Restart=on-failure) must not begin again from an empty database.
    with pytest.raises(DatabaseError, match="moved aside as corrupt: restore a backup"):
        await Database.open(path)
    assert not path.exists()
    # Moving the corrupt file away is the operator's explicit "start empty".
    moved[0].rename(tmp_path / "kept-for-forensics.db")
    async with await Database.open(path) as db:
        assert await db.integrity_check() == ["ok"]


async def test_damaged_pages_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with await Database.open(path) as db, db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO alerts VALUES (?, 'w', ?, 1, NULL)", [(f"k{i}", "x" * 300) for i in range(400)]
        )
    _sqlite(path, "PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(path.read_bytes())
    page = 4096
    data[page * 2 : page * 2 + 200] = b"\xff" * 200  # scribble over a b-tree page header
    path.write_bytes(bytes(data))
    with pytest.raises(DatabaseError, match="corrupt"):
        await Database.open(path)
    assert list(tmp_path.glob("s.db.corrupt-*"))


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with await Database.open(path):
        pass
    _sqlite(path, "PRAGMA user_version = 99")
    with pytest.raises(DatabaseError, match="newer"):
        await Database.open(path)
    assert path.exists()
    assert _sqlite(path, "PRAGMA user_version") == [(99,)]
    with pytest.raises(DatabaseError, match="newer"):  # the refused open released its instance lock
        await Database.open(path)


def test_interrupted_migration_is_redone(tmp_path: Path) -> None:
    migrations = tmp_path / "migrations"
    migrations.mkdir()
    (migrations / "0001_initial.sql").write_text(
        "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT, applied_at REAL);\n"
        "CREATE TABLE a (x INTEGER);\n"
    )
    (migrations / "0002_more.sql").write_text(
        "CREATE TABLE b (y INTEGER);\nINSERT INTO nowhere VALUES (1);\n"
    )

    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError, match="nowhere"):
            apply_migrations(conn, migrations)
        # 0001 stayed, 0002 left nothing behind (its CREATE TABLE b was rolled back with it).
        assert conn.execute("PRAGMA user_version").fetchall() == [(1,)]
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "a" in names
        assert "b" not in names
        (migrations / "0002_more.sql").write_text("CREATE TABLE b (y INTEGER);\n")
        assert apply_migrations(conn, migrations) == 2
        assert conn.execute("PRAGMA user_version").fetchall() == [(2,)]
    finally:
        conn.close()


def test_split_statements_keeps_triggers_whole() -> None:
    script = textwrap.dedent(
        """
        -- comment only
        CREATE TABLE t (x INTEGER); -- trailing
        CREATE TRIGGER tr AFTER INSERT ON t BEGIN
            UPDATE t SET x = x + 1; SELECT 1;
        END;
        """
    )
    statements = split_statements(script)
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER")
    assert statements[1].endswith("END;")


async def test_second_instance_is_refused_and_read_only_tools_may_open(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with await Database.open(path):
        with pytest.raises(DatabaseError, match=rf"already running \(pid {os.getpid()}\)"):
            await Database.open(path)
        async with await Database.open(path, lock=False) as reader:
            assert await reader.integrity_check() == ["ok"]
    async with await Database.open(path):  # released on close
        pass


def test_lock_dies_with_the_process(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    code = textwrap.dedent(
        f"""
        import asyncio, sys
        from pathlib import Path
        from bot.db.connection import Database
        async def main():
            db = await Database.open(Path({str(path)!r}))
            print("ready", flush=True)
            await asyncio.sleep(60)
        asyncio.run(main())
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # log lines may come first
            if line.strip() == b"ready":
                break
        else:
            pytest.fail("child never opened the database")

        async def second() -> None:
            with pytest.raises(DatabaseError, match=f"pid {proc.pid}"):
                await Database.open(path)

        asyncio.run(second())
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)

        async def third() -> None:
            async with await Database.open(path) as db:
                assert await db.integrity_check() == ["ok"]

        asyncio.run(third())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


async def test_rollback_is_real(db: Database) -> None:
    async def failing() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO alerts VALUES ('a', 'w', 'm', 1, NULL)")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await failing()
    assert await db.fetchall("SELECT * FROM alerts") == []
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO alerts VALUES ('b', 'w', 'm', 1, NULL)")
    assert [r[0] for r in await db.fetchall("SELECT key FROM alerts")] == ["b"]


async def test_sql_error_rolls_back_earlier_statements(db: Database) -> None:
    async def twice() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO alerts VALUES ('a', 'w', 'm', 1, NULL)")
            await tx.execute("INSERT INTO alerts VALUES ('a', 'w', 'm', 1, NULL)")

    with pytest.raises(DRIVER_ERRORS, match=r"(?i)unique|duplicate key"):
        await twice()
    assert await db.fetchall("SELECT * FROM alerts") == []


async def test_other_tasks_never_see_or_join_an_open_transaction(db: Database) -> None:
    inside = asyncio.Event()
    release = asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO alerts VALUES ('a', 'w', 'm', 1, NULL)")
            inside.set()
            await release.wait()
            raise RuntimeError("abort")

    task = asyncio.create_task(writer())
    await inside.wait()
    reader = asyncio.create_task(db.fetchall("SELECT key FROM alerts"))
    other_write = asyncio.create_task(db.execute("INSERT INTO alerts VALUES ('b', 'w', 'm', 1, NULL)"))
    await asyncio.sleep(0.05)
    assert not reader.done()  # waits for the transaction instead of reading uncommitted rows
    release.set()
    with pytest.raises(RuntimeError, match="abort"):
        await task
    assert await reader == []
    await other_write  # ran after the rollback, so it was not rolled back with it
    assert [r[0] for r in await db.fetchall("SELECT key FROM alerts")] == ["b"]


async def test_nested_transaction_is_an_error(db: Database) -> None:
    async with db.transaction() as tx:
        with pytest.raises(DatabaseError, match="nested"):
            async with db.transaction():
                pass
        # reads on the Database from inside the transaction's own task see its rows (no deadlock)
        await tx.execute("INSERT INTO alerts VALUES ('a', 'w', 'm', 1, NULL)")
        assert len(await db.fetchall("SELECT * FROM alerts")) == 1


async def test_statement_counter(db: Database) -> None:
    before = db.statements
    await db.fetchall("SELECT 1")
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO alerts VALUES (?, 'w', 'm', 1, NULL)", [(str(i),) for i in range(50)]
        )
    assert db.statements - before == 4  # select + BEGIN + one executemany + COMMIT


async def test_backup_is_a_consistent_copy(sqlite_db: Database, tmp_path: Path) -> None:
    await sqlite_db.execute("INSERT INTO alerts VALUES ('a', 'w', 'm', 1, NULL)")
    dest = tmp_path / "backups" / "copy.db"
    await sqlite_db.backup(dest)
    assert _sqlite(dest, "SELECT key FROM alerts") == [("a",)]
    assert _sqlite(dest, "PRAGMA integrity_check") == [("ok",)]
    assert not dest.with_name("copy.db.part").exists()


async def test_postgresql_backup_is_a_pg_dump_that_restores(
    pg_admin_url: str, pg_database_url: str, tmp_path: Path
) -> None:
    async with await Database.open(pg_database_url) as db:
        await db.execute("INSERT INTO alerts VALUES ('a', 'w', 'm', 1, NULL)")
        dest = tmp_path / "backups" / "statsbot.pgdump"
        await db.backup(dest)
    assert not dest.with_name("statsbot.pgdump.part").exists()
    with pg.fresh_database(pg_admin_url) as restored:
        subprocess.run(["pg_restore", "--dbname", restored, str(dest)], check=True, capture_output=True)
        async with await Database.open(restored) as copy:
            assert [tuple(r) for r in await copy.fetchall("SELECT key FROM alerts")] == [("a",)]
            assert (await copy.fetchone("SELECT max(version) FROM schema_version"))[0] == discover()[
                -1
            ].version  # type: ignore[index]


async def test_closed_database_refuses_work(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "s.db")
    await db.close()
    await db.close()  # idempotent
    with pytest.raises(DatabaseError, match="closed"):
        await db.fetchall("SELECT 1")


def test_processes_opening_a_new_database_together_migrate_it_once(tmp_path: Path) -> None:
    """The daemon and `statsbot health` may start at the same moment on a fresh file."""
    path = tmp_path / "race.db"
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def open_and_migrate() -> None:
        conn = sqlite3.connect(path, isolation_level=None, timeout=10, check_same_thread=False)
        try:
            barrier.wait()
            apply_migrations(conn)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=open_and_migrate) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    conn = sqlite3.connect(path)
    try:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY version")]
    finally:
        conn.close()
    assert versions == [m.version for m in discover()]


async def test_a_reader_never_moves_a_corrupt_database_from_under_the_running_daemon(tmp_path: Path) -> None:
    """`statsbot health` (Docker HEALTHCHECK) or `diagnose` finding corruption must only report it."""
    from bot.db.health import acquire_lock, release_lock

    path = tmp_path / "s.db"
    junk = b"this is not a database" * 500
    path.write_bytes(junk)
    daemon = acquire_lock(path)
    try:
        with pytest.raises(DatabaseError, match="the running statsbot holds it"):
            await Database.open(path, lock=False)
        assert path.read_bytes() == junk  # still where the daemon has it
        assert not list(tmp_path.glob("s.db.corrupt-*"))
    finally:
        release_lock(daemon)
    # With no daemon running, the same reader moves it aside (taking the lock just for that).
    with pytest.raises(DatabaseError, match="moved aside"):
        await Database.open(path, lock=False)
    assert not path.exists()
    assert len(list(tmp_path.glob("s.db.corrupt-*"))) == 1


async def test_where_names_the_file_or_the_url_without_its_password(tmp_path: Path, pg_url: str) -> None:
    async with await Database.open(tmp_path / "s.db") as lite:
        assert lite.where == str(tmp_path / "s.db")
    secret = pg_url.replace("postgresql://postgres@", "postgresql://postgres:hunter2@", 1)
    assert secret != pg_url  # the fixture's URL has the user the replacement expects
    async with await Database.open(secret) as post:
        assert post.where.startswith("postgresql://postgres")
        assert "hunter2" not in post.where
