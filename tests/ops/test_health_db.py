"""Health verdict true/false cases, metrics + /healthz over real HTTP, db check and backups with rotation."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from pathlib import Path

import aiohttp

from bot.db import outbox, status
from bot.db.connection import Database
from bot.ops.dbtools import backup_database, check_database, list_backups
from bot.ops.diagnose import diagnose
from bot.ops.drift import Kind
from bot.ops.health import HealthReport, check_health, is_healthy
from bot.ops.metrics import render_metrics, start_health_server
from bot.ops.sync import sync
from tests.helpers.engines import SQLITE_ONLY, leading
from tests.helpers.ops import EVENING, World

NOW = 2_000_000_000.0
PLENTY = 10 * 1024**3


async def _polled(db: Database, at: float) -> None:
    async with db.transaction() as tx:
        await status.record_poll_success(tx, "main", now=at, listing_count=8, seconds=0.25)


async def test_never_polled_server_is_unhealthy_then_healthy_after_a_poll(world: World) -> None:
    async with leading(world.db, world.settings.database.instance):
        report = await check_health(world.db, world.settings, now=NOW, disk_free=lambda _p: PLENTY)
        assert not report.healthy
        bad = [c for c in report.checks if not c.ok]
        assert [c.name for c in bad] == ["server main"]
        assert "no successful poll yet" in bad[0].detail
        await _polled(world.db, NOW - 5)
        report = await check_health(world.db, world.settings, now=NOW, disk_free=lambda _p: PLENTY)
        assert report.healthy, report.render()
        assert [c.name for c in report.checks] == [
            "database", "disk data_dir", "disk local_stats", "server main", "outbox backlog",
        ] + (["role"] if world.db.engine == "postgresql" else [])  # fmt: skip


async def test_stale_poll_low_disk_backlog_and_stopped_scheduler_are_each_unhealthy(world: World) -> None:
    async with leading(world.db, world.settings.database.instance):
        poll = world.settings.servers[0].poll_seconds
        await _polled(world.db, NOW - 3 * poll - 1)
        report = await check_health(world.db, world.settings, now=NOW, disk_free=lambda _p: PLENTY)
        assert [c.name for c in report.checks if not c.ok] == ["server main"]

        await _polled(world.db, NOW)
        low = await check_health(world.db, world.settings, now=NOW, disk_free=lambda _p: 10 * 1024 * 1024)
        assert {c.name for c in low.checks if not c.ok} == {"disk data_dir", "disk local_stats"}

        stopped = await check_health(
            world.db, world.settings, now=NOW, disk_free=lambda _p: PLENTY, scheduler_running=False
        )
        assert [c.name for c in stopped.checks if not c.ok] == ["scheduler"]

        limit = world.settings.health.outbox_backlog_alert
        async with world.db.transaction() as tx:
            for i in range(limit + 1):
                await outbox.enqueue(
                    tx, kind="alert", channel="admin", dedupe_key=f"k{i}", payload={"i": i}, now=NOW
                )
        backlog = await check_health(world.db, world.settings, now=NOW, disk_free=lambda _p: PLENTY)
        assert [c.name for c in backlog.checks if not c.ok] == ["outbox backlog"]
        assert f"{limit + 1} posts pending" in backlog.render()


async def test_is_healthy_uses_the_real_clock_and_disk(world: World) -> None:
    async with leading(world.db, world.settings.database.instance):
        await _polled(world.db, time.time())
        assert await is_healthy(world.db, world.settings)
        assert not await is_healthy(world.db, world.settings, scheduler_running=False)


async def test_metrics_and_healthz_over_http(world: World) -> None:
    async with leading(world.db, world.settings.database.instance):
        world.put_remote(EVENING)
        await world.import_(EVENING)
        await _polled(world.db, NOW)
        text = await render_metrics(world.db, healthy=True)
        assert 'statsbot_files_imported_total{server="main"} 8' in text
        assert 'statsbot_rounds{server="main"} 8' in text
        assert 'statsbot_poll_duration_seconds{server="main"} 0.25' in text
        assert "statsbot_outbox_backlog " in text
        assert "# TYPE statsbot_files gauge" in text

        verdict = {"healthy": True}

        async def probe() -> HealthReport:
            return await check_health(
                world.db,
                world.settings,
                now=NOW if verdict["healthy"] else NOW + 3600,
                disk_free=lambda _p: PLENTY,
            )

        server = await start_health_server(world.db, probe, host="127.0.0.1", port=0)
        try:
            async with aiohttp.ClientSession() as http:
                base = f"http://127.0.0.1:{server.port}"
                async with http.get(f"{base}/healthz") as resp:
                    assert resp.status == 200
                    assert (await resp.json())["healthy"] is True
                async with http.get(f"{base}/metrics") as resp:
                    assert resp.status == 200
                    assert resp.content_type == "text/plain"
                    body = await resp.text()
                    assert "statsbot_healthy 1" in body
                verdict["healthy"] = False
                async with http.get(f"{base}/healthz") as resp:
                    assert resp.status == 503
                    doc = await resp.json()
                    assert [c["name"] for c in doc["checks"] if not c["ok"]] == ["server main"]
        finally:
            await server.close()


@SQLITE_ONLY
async def test_backup_is_verified_restorable_and_rotated(world: World, tmp_path: Path) -> None:
    world.put_remote(EVENING)
    await world.import_(EVENING)
    folder = tmp_path / "backups"
    made = []
    for hour in range(4):
        made.append(
            await backup_database(world.db, folder, keep=2, now=dt.datetime(2026, 1, 1, hour, tzinfo=dt.UTC))
        )
    assert list_backups(folder) == made[-2:]
    assert made[-1].name == "statsbot-20260101T030000Z.db"
    assert not list(folder.glob("*.part"))
    conn = sqlite3.connect(made[-1])
    try:
        assert conn.execute("SELECT count(*) FROM rounds").fetchone()[0] == 8
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


@SQLITE_ONLY
async def test_db_check_ok_and_corrupt_database_is_moved_aside(world: World, tmp_path: Path) -> None:
    result = await check_database(world.settings.paths.db_path)
    assert result.ok
    assert result.messages == ("ok",)
    bad = tmp_path / "broken" / "statsbot.db"
    bad.parent.mkdir()
    bad.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    result = await check_database(bad)
    assert not result.ok
    assert "moved aside" in result.messages[0]
    assert not bad.exists()
    assert len(list(bad.parent.glob("statsbot.db.corrupt-*"))) == 1
    missing = await check_database(tmp_path / "nothing.db")
    assert not missing.ok


@SQLITE_ONLY
async def test_damaged_database_file_makes_health_fail(world: World) -> None:
    world.put_remote(EVENING)
    await world.import_(EVENING)
    await _polled(world.db, NOW)
    await world.db.fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
    path = world.settings.paths.db_path
    size = path.stat().st_size
    with path.open("r+b") as fh:  # scribble over every page but the first (header and schema)
        for offset in range(4096, size, 4096):
            fh.seek(offset)
            fh.write(b"\xde\xad\xbe\xef" * 64)
    report = await check_health(world.db, world.settings, now=NOW, disk_free=lambda _p: PLENTY)
    assert not report.healthy
    assert [c.name for c in report.checks] == ["database"]
    assert not report.checks[0].ok


@SQLITE_ONLY
async def test_corrupt_database_runbook_backup_restore_then_sync(world: World, tmp_path: Path) -> None:
    world.put_remote(EVENING)
    world.put_local(EVENING)
    await world.import_(EVENING[:4])
    backup = await backup_database(world.db, tmp_path / "backups", keep=3)
    await world.import_(EVENING[4:])
    db_path = world.settings.paths.db_path
    await world.db.close()
    db_path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 84 + b"\xff" * 8000)  # torn beyond repair
    checked = await check_database(db_path)
    assert not checked.ok
    assert not db_path.exists()  # moved aside, not replaced by an empty database
    assert len(list(db_path.parent.glob("statsbot.db.corrupt-*"))) == 1

    db_path.write_bytes(backup.read_bytes())  # the runbook's restore
    world.db = await Database.open(db_path)
    rep = (await diagnose(world.db, world.settings, source_factory=world.factory())).servers[0]
    diff = rep.difference(Kind.REMOTE_UNPROCESSED)
    assert diff is not None
    assert diff.files == tuple(sorted(EVENING[4:]))
    result = await sync(world.db, world.settings, source_factory=world.factory())
    assert [i.outcome for i in result.items] == ["imported"] * 4
    rep = (await diagnose(world.db, world.settings, source_factory=world.factory())).servers[0]
    assert rep.differences == ()
    rows = await world.db.fetchall("SELECT count(*), count(DISTINCT sha256) FROM rounds")
    assert tuple(rows[0]) == (8, 8)
