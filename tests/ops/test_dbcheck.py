"""The database's full check: at start after a crash, in the background after a clean shutdown, and a
finding stops imports and alerts (real SQLite files, real daemon against the in-process SFTP server).

What is about the SQLite file (its clean-shutdown marker, a damaged page, a truncated file) runs on SQLite
only; the check's outcome (recorded, reused by the daemon's health) on both engines. On PostgreSQL the
check is that the server answers (no file to damage): an unanswering one stops nothing
(tests/ops/test_ops_postgresql.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from bot.db import status
from bot.db.connection import Database
from bot.db.health import marker_path
from bot.errors import DatabaseError
from bot.ops import dbcheck
from tests.helpers.daemon import QuietChat, daemon_settings, make_app, server_values
from tests.helpers.engines import NewStore
from tests.helpers.sftp import sftp_rig

NAME = "2025-10-02-213333-supply-round-1.txt"


async def filled_database(target: Path | str) -> None:
    """A database with enough file_events rows to span many pages, closed cleanly (marker written)."""
    async with await Database.open(target) as db, db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO file_events (server, filename, at, event, detail) VALUES ('x', ?, 1, 'seen', ?)",
            [(f"f{i}", "d" * 300) for i in range(400)],
        )


def scribble_over_a_page_of(path: Path, table: str) -> None:
    """Damage one b-tree page of `table` in place, leaving page 1 (header, schema) intact."""
    conn = sqlite3.connect(path)
    try:
        page = conn.execute("SELECT max(pageno) FROM dbstat WHERE name = ?", (table,)).fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    data = bytearray(path.read_bytes())
    start = (page - 1) * size
    data[start : start + 200] = b"\xff" * 200
    path.write_bytes(bytes(data))


async def test_postgresql_never_defers_the_check_and_its_open_counts_as_one(pg_url: str) -> None:
    """No file to read in full: opening (the server answered, the schema is there) is the check, so the
    daemon's health line says it passed, never "pending" for the six hours to the first scheduled one."""
    for _ in range(2):  # a first start, then one after a clean shutdown: the same
        before = time.time()
        db = await Database.open(pg_url, defer_check=True)
        try:
            assert not db.check_deferred
            assert db.checked_at is not None
            assert db.checked_at >= before
        finally:
            await db.close()


async def test_the_check_is_deferred_only_after_a_clean_shutdown(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    first = await Database.open(path, defer_check=True)
    assert not first.check_deferred  # a first start (no marker) checks at once
    await first.close()
    assert marker_path(path).exists()
    second = await Database.open(path, defer_check=True)
    try:
        assert second.check_deferred
        assert not marker_path(path).exists()  # taken: a crash from now on leaves no marker behind
    finally:
        await second.close()
    tools = await Database.open(path)  # commands that do not defer still check, and keep the marker rule
    try:
        assert not tools.check_deferred
    finally:
        await tools.close()


async def test_a_start_after_a_crash_checks_at_start(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    await filled_database(path)
    marker_path(path).unlink()  # what a SIGKILL or power loss leaves: no marker
    scribble_over_a_page_of(path, "file_events")
    with pytest.raises(DatabaseError, match="corrupt"):
        await Database.open(path, defer_check=True)


async def test_a_truncated_file_is_checked_at_start_even_with_a_marker(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    await filled_database(path)
    with open(path, "r+b") as handle:
        handle.truncate(4096 * 3)
    with pytest.raises(DatabaseError, match="corrupt"):
        await Database.open(path, defer_check=True)


async def test_an_old_check_is_not_deferred_again(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    await filled_database(path)
    marker_path(path).write_text('{"closed_at": 1, "checked_at": 1}')  # last check passed in 1970
    db = await Database.open(path, defer_check=True)
    try:
        assert not db.check_deferred
    finally:
        await db.close()


async def test_background_finding_stops_imports_alerts_and_forces_a_check_at_next_start(
    tmp_path: Path, samples_dir: Path
) -> None:
    async with sftp_rig(tmp_path) as rig:
        settings = daemon_settings(
            tmp_path, [server_values("main", rig, poll_seconds=0.2, min_file_age_seconds=0.2)]
        )
        path = settings.paths.db_path
        await filled_database(path)  # the previous run stopped cleanly...
        scribble_over_a_page_of(path, "file_events")  # ...and the disk damaged a page since
        app = make_app(settings, chat=QuietChat())
        app.db_check_delay = 0.1
        stop = asyncio.Event()
        with capture_logs() as logs:
            daemon = asyncio.create_task(app.run(stop))
            for _ in range(100):
                await asyncio.sleep(0.05)
                if app.imports_stopped is not None:
                    break
            assert app.imports_stopped is not None
            rig.write(NAME, (samples_dir / NAME).read_bytes())  # arrives after the finding
            await asyncio.sleep(1.0)  # five poll intervals
            assert app.db is not None
            alerts = {a.key: a for a in await status.open_alerts(app.db)}
            queued = await app.db.fetchall(
                "SELECT payload FROM outbox WHERE kind = 'alert' AND channel = 'admin'"
            )
            stop.set()
            assert await asyncio.wait_for(daemon, 30) == 0
        events = [e["event"] for e in logs]
        assert "db_check_deferred" in events
        assert "db_check_failed" in events
        assert not any(e["event"] == "file_processed" for e in logs)  # nothing imported after the finding
        assert not (settings.paths.local_stats / "main" / NAME).exists()
        assert "restore the newest backup" in alerts[dbcheck.ALERT_KEY].message
        assert any(dbcheck.ALERT_KEY in str(row[0]) for row in queued)  # posted once to the admin channel
        assert not marker_path(path).exists()  # no clean-shutdown marker over a damaged database
    with pytest.raises(DatabaseError, match="corrupt"):
        await Database.open(path, defer_check=True)  # so the next start checks, and moves it aside


async def test_background_check_on_a_healthy_database_records_it(new_store: NewStore) -> None:
    target = new_store("s.db")
    await filled_database(target)
    db = await Database.open(target, defer_check=True)
    try:
        assert db.check_deferred == isinstance(target, Path)  # PostgreSQL: never deferred (above)
        reasons: list[str] = []
        assert await dbcheck.run_check(db, reasons.append, now=lambda: 5e9)
        assert (reasons, db.check_deferred, db.checked_at, db.damaged) == ([], False, 5e9, False)
    finally:
        await db.close()
    if isinstance(target, Path):
        assert '"checked_at": 5000000000.0' in marker_path(target).read_text()


@pytest.mark.usefixtures("daemon_store")
async def test_the_daemons_health_alerts_reuse_the_scheduled_check_instead_of_rereading_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: str
) -> None:
    from bot.db import ops_queries
    from bot.ops.health import check_health
    from bot.ops.maintenance import health_alert_job

    reads: list[Path] = []
    real = ops_queries.quick_check_file

    def counted(path: Path) -> list[str]:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(ops_queries, "quick_check_file", counted)
    async with sftp_rig(tmp_path) as rig:
        settings = daemon_settings(tmp_path, [server_values("main", rig)])
        app = make_app(settings, chat=QuietChat())
        await app.open()
        try:
            assert app.db is not None
            await health_alert_job(app)  # what the daemon runs every minute
            assert reads == []
            line = (await check_health(app.db, settings, full_db_check=False)).checks[0]
            assert (line.name, line.ok) == ("database", True)
            assert "full check passed" in line.detail
            app.db.damaged = True  # what a background finding leaves
            line = (await check_health(app.db, settings, full_db_check=False)).checks[0]
            assert not line.ok
            line = (await check_health(app.db, settings)).checks[0]  # `statsbot health` (CLI) checks anew:
            if engine == "sqlite":  # it reads the whole file
                assert reads == [settings.paths.db_path]
            else:  # it asks the server (no file)
                assert (reads, line.ok, line.detail) == ([], True, "PostgreSQL answers")
            app.db.damaged = False
        finally:
            await app.close()
