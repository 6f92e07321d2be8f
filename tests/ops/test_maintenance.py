"""The daemon-side hooks: retention as a scheduled job, the /healthz endpoint from [health] http_port."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.config import ServerConfig, Settings
from bot.db import status
from bot.db.connection import Database
from bot.ingest.source import StatsSource
from bot.ingest.ssh_source import SshSource
from bot.ops.diagnose import diagnose
from bot.ops.explain import explain
from bot.ops.health import check_health
from bot.ops.maintenance import health_alert_job, maintenance_jobs, retention_job, serve_health
from tests.helpers.daemon import daemon_settings, make_app, server_values
from tests.helpers.engines import leading
from tests.helpers.ops import EVENING, World, make_settings
from tests.helpers.sftp import sftp_rig

NOW = 2_000_000_000.0


@dataclass
class Host:
    settings: Settings
    db: Database | None


async def test_retention_job_only_when_configured_and_it_runs(world: World) -> None:
    assert [j[0] for j in maintenance_jobs(world.settings)] == ["ops:health_alerts", "ops:drift_watch"]
    world.put_local(EVENING)
    await world.import_(EVENING)
    settings = make_settings(world.rig.root.parent, world.rig, retention={"local_days": 1})
    [_, _, (job_id, seconds, job)] = maintenance_jobs(settings)
    assert job_id == "ops:retention"
    assert seconds > 0
    await job(Host(settings, world.db))
    assert sorted(p.name for p in world.local_dir.iterdir()) == sorted(f"{n}.gz" for n in EVENING)
    await retention_job(Host(settings, None))  # a closed daemon: nothing to do, no error


async def test_health_endpoint_follows_the_config(world: World, unused_tcp_port: int) -> None:
    async with leading(world.db, world.settings.database.instance):
        assert await serve_health(world.settings, world.db, lambda: True) is None  # off by default
        settings = make_settings(world.rig.root.parent, world.rig, health={"http_port": unused_tcp_port})
        server = await serve_health(settings, world.db, lambda: False)
        assert server is not None
        try:
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{unused_tcp_port}/healthz") as resp:
                    assert resp.status == 503
                    doc = await resp.json()
                names = {c["name"] for c in doc["checks"] if not c["ok"]}
                assert names == {"scheduler", "server main"}
                async with http.get(f"http://127.0.0.1:{unused_tcp_port}/metrics") as resp:
                    assert "statsbot_healthy 0" in await resp.text()
        finally:
            await server.close()


async def test_health_alerts_open_once_and_resolve_once(world: World) -> None:
    host = Host(world.settings, world.db)
    low = await check_health(world.db, world.settings, now=NOW, disk_free=lambda _p: 1024)
    for _ in range(3):
        await health_alert_job(host, now=NOW, report=low)
    alert = await status.get_alert(world.db, "disk_low:data_dir")
    assert alert is not None
    assert alert.resolved_at is None
    assert "MB free" in alert.message
    rows = await world.db.fetchall("SELECT kind, dedupe_key FROM outbox ORDER BY id")
    assert [r[0] for r in rows] == ["alert", "alert"]  # data_dir and local_stats, once each
    ok = await check_health(world.db, world.settings, now=NOW + 60, disk_free=lambda _p: 10 * 1024**3)
    await health_alert_job(host, now=NOW + 60, report=ok)
    await health_alert_job(host, now=NOW + 120, report=ok)
    rows = await world.db.fetchall("SELECT kind FROM outbox ORDER BY id")
    assert [r[0] for r in rows] == ["alert", "alert", "alert_resolved", "alert_resolved"]
    resolved = await status.get_alert(world.db, "disk_low:data_dir")
    assert resolved is not None
    assert resolved.resolved_at == NOW + 60
    await health_alert_job(Host(world.settings, None))  # closed daemon: no-op


async def test_daemon_serves_healthz_and_runs_ops_jobs(
    tmp_path: Path, samples_dir: Path, unused_tcp_port: int
) -> None:
    async with sftp_rig(tmp_path) as rig:
        rig.write(EVENING[0], (samples_dir / EVENING[0]).read_bytes())
        settings = daemon_settings(
            tmp_path,
            [server_values("main", rig, min_file_age_seconds=0)],
            health={"http_port": unused_tcp_port},
        )
        app = make_app(settings)
        stop = asyncio.Event()
        task = asyncio.create_task(app.run(stop))
        try:
            doc: dict[str, object] = {}
            async with aiohttp.ClientSession() as http:
                for _ in range(100):  # until the first poll has succeeded
                    with contextlib.suppress(aiohttp.ClientError):
                        async with http.get(f"http://127.0.0.1:{unused_tcp_port}/healthz") as resp:
                            doc = await resp.json()
                            if resp.status == 200:
                                break
                    await asyncio.sleep(0.1)
                assert doc.get("healthy") is True, doc
                names = [c["name"] for c in doc["checks"]]  # type: ignore[attr-defined]
                assert "scheduler" in names
                assert "server main" in names
                async with http.get(f"http://127.0.0.1:{unused_tcp_port}/metrics") as resp:
                    assert "statsbot_healthy 1" in await resp.text()
        finally:
            stop.set()
            assert await asyncio.wait_for(task, 30) == 0
        with contextlib.suppress(aiohttp.ClientError):  # the endpoint is gone after shutdown
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{unused_tcp_port}/healthz"),
            ):
                raise AssertionError("health endpoint still serving after shutdown")


async def test_after_a_real_daemon_cycle_diagnose_agrees_and_explain_tells_the_journey(
    tmp_path: Path, samples_dir: Path
) -> None:
    async with sftp_rig(tmp_path) as rig:
        for i, name in enumerate(EVENING):
            rig.write(name, (samples_dir / name).read_bytes(), mtime=1_760_000_000 + i)
        settings = daemon_settings(tmp_path, [server_values("main", rig, min_file_age_seconds=0)])
        assert await make_app(settings).once() == 0
        async with await Database.open(settings.paths.db_path) as db:

            def factory(cfg: ServerConfig) -> StatsSource:
                return SshSource(rig.params(cfg.name))

            report = await diagnose(db, settings, source_factory=factory)
            assert report.servers[0].differences == ()  # registry size/mtime agree with the listing
            assert report.servers[0].counts.rounds == 8
            [journey] = await explain(db, settings.paths.local_stats, EVENING[1])
        events = [e.event for e in journey.events]
        assert events[0] == "seen"
        assert events.index("downloaded") < events.index("imported")
        assert {p.kind for p in journey.posts} >= {"round", "match"}
        assert all(p.state == "sent" for p in journey.posts)  # `once` drained the outbox
