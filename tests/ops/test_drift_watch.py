"""The drift watch: the scheduled four-location comparison alerts once per new kind and resolves once."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from bot.db import drift_counts, files, status
from bot.db.connection import Database
from bot.ingest.source import RemoteEntry
from bot.ingest.ssh_source import SshSource
from bot.ops.drift import Kind
from bot.ops.drift_watch import FULL_LISTING_EVERY, DriftWatch, alert_key
from bot.ops.maintenance import maintenance_jobs
from bot.ops.metrics import render_metrics
from bot.ops.repair import apply_changes, check_registry
from tests.helpers.daemon import QuietChat, daemon_settings, make_app, server_values
from tests.helpers.ops import EVENING, World, hand_delete_round, make_settings
from tests.helpers.sftp import sftp_rig

NOW = 2_000_000_000.0


class CountingSource(SshSource):
    """The real SSH source, counting how often the folder is stat'ed and listed."""

    stats = 0
    listings = 0

    async def dir_mtime(self) -> int | None:
        self.stats += 1
        return await super().dir_mtime()

    async def list(self) -> list[RemoteEntry]:
        self.listings += 1
        return await super().list()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        self.now += 60
        return self.now


async def posts(db: Database) -> list[tuple[str, str]]:
    rows = await db.fetchall("SELECT kind, payload FROM outbox WHERE channel = 'admin' ORDER BY id")
    return [(str(r[0]), str(r[1])) for r in rows]


async def counts(db: Database) -> dict[str, int]:
    return {c.kind: c.files for c in await drift_counts.all_counts(db) if c.server == "main"}


async def test_alert_once_per_new_kind_resolve_once_and_count_per_kind(world: World) -> None:
    world.put_remote(EVENING[:4])
    world.put_local(EVENING[:4])
    await world.import_(EVENING[:4])
    cfg = world.settings.servers[0]
    source = CountingSource(world.rig.params("main"))
    watch = DriftWatch(wall=Clock())
    try:
        report = await watch.check_server(world.db, world.settings, cfg, source)
        assert [d.kind for d in report.differences] == []
        assert await posts(world.db) == []
        found = await counts(world.db)
        assert found[Kind.IMPORTED_WITHOUT_ROUND] == 0
        assert Kind.REMOTE_UNREACHABLE not in found  # the poll metrics say whether a server answers
        assert set(found) == {k.value for k in Kind} - {
            Kind.REMOTE_UNREACHABLE, Kind.REMOTE_FOLDER_MISSING, Kind.REMOTE_NOT_CHECKED
        }  # fmt: skip

        # A drift appears: a round deleted by hand. One alert, with the files' date range.
        [round_id] = [r[0] for r in await world.db.fetchall("SELECT id FROM rounds WHERE filename = ?",
                                                              (EVENING[2],))]  # fmt: skip
        hand_delete_round(world.settings.db_target, round_id)
        await watch.check_server(world.db, world.settings, cfg, source)
        [(kind, payload)] = await posts(world.db)
        assert kind == "alert"
        assert "drift on main: registry says imported but no round — 1 file, 2025-10-02." in payload
        assert "`statsbot registry repair --apply`" in payload
        assert (await counts(world.db))[Kind.IMPORTED_WITHOUT_ROUND] == 1
        key = alert_key("main", Kind.IMPORTED_WITHOUT_ROUND)
        assert (await status.get_alert(world.db, key)) is not None

        # It persists (and grows): no second alert, the count follows.
        [r2] = [
            r[0] for r in await world.db.fetchall("SELECT id FROM rounds WHERE filename = ?", (EVENING[3],))
        ]
        hand_delete_round(world.settings.db_target, r2)
        for _ in range(2):
            await watch.check_server(world.db, world.settings, cfg, source)
        assert len(await posts(world.db)) == 1
        assert (await counts(world.db))[Kind.IMPORTED_WITHOUT_ROUND] == 2
        text = await render_metrics(world.db)
        assert 'statsbot_drift_files{kind="imported_without_round",server="main"} 2' in text
        assert 'statsbot_drift_files{kind="changed_after_import",server="main"} 0' in text
        assert 'statsbot_drift_check_timestamp_seconds{server="main"}' in text

        # It clears (the operator repairs and re-imports): one resolved post, then silence.
        await apply_changes(
            world.db, await check_registry(world.db, ["main"], world.settings.paths.local_stats)
        )
        await world.import_(EVENING[2:4])
        for _ in range(2):
            await watch.check_server(world.db, world.settings, cfg, source)
        kinds = [k for k, _ in await posts(world.db)]
        assert kinds == ["alert", "alert_resolved"]
        assert "drift on main resolved: registry says imported but no round" in (await posts(world.db))[1][1]
        alert = await status.get_alert(world.db, key)
        assert alert is not None
        assert alert.resolved_at is not None
        assert (await counts(world.db))[Kind.IMPORTED_WITHOUT_ROUND] == 0
    finally:
        await source.close()


async def test_the_listing_is_the_cheap_one_and_an_unreachable_server_keeps_its_remote_findings(
    world: World,
) -> None:
    world.put_remote(EVENING[:2])
    world.put_local(EVENING[:2])
    await world.import_(EVENING[:2])
    cfg = world.settings.servers[0]
    source = CountingSource(world.rig.params("main"))
    watch = DriftWatch(wall=Clock())
    try:
        for _ in range(3):
            await watch.check_server(world.db, world.settings, cfg, source)
        # Listed, listed again to confirm (mtimes have 1 s resolution), then the folder is only stat'ed.
        assert (source.stats, source.listings) == (3, 2)

        # Rewritten in place (the folder's mtime does not move): found by the periodic full listing.
        folder = world.rig.stats_dir
        before = folder.stat().st_mtime
        world.rig.write(EVENING[0], (world.samples / EVENING[0]).read_bytes() + b"edited\n")
        os.utime(folder, (before, before))
        checks = 0
        while (await counts(world.db)).get(Kind.CHANGED_AFTER_IMPORT, 0) == 0:
            await watch.check_server(world.db, world.settings, cfg, source)
            checks += 1
            assert checks <= FULL_LISTING_EVERY
        assert source.listings == 3
        [(_kind, payload)] = await posts(world.db)
        assert "changed on the server after import — 1 file, 2025-10-02" in payload

        # A new file moves the folder's mtime: listed at once.
        world.rig.write(EVENING[2], (world.samples / EVENING[2]).read_bytes(), mtime=1_760_100_000)
        os.utime(folder, (before + 10, before + 10))
        await watch.check_server(world.db, world.settings, cfg, source)
        assert source.listings == 4

        # The server goes away: what only a listing can tell is kept (alert open, count unchanged).
        await world.rig.server.stop()
        await source.close()
        report = await watch.check_server(world.db, world.settings, cfg, source)
        assert not report.reachable
        assert (await counts(world.db))[Kind.CHANGED_AFTER_IMPORT] == 1
        assert [k for k, _ in await posts(world.db)] == ["alert"]  # nothing resolved, nothing new
    finally:
        await source.close()


async def test_files_deleted_on_the_server_alert_once_with_their_dates(world: World) -> None:
    world.put_remote(EVENING[:4])
    world.put_local(EVENING[:4])
    cfg = world.settings.servers[0]
    source = CountingSource(world.rig.params("main"))
    watch = DriftWatch(wall=Clock())
    try:
        listed = [(e.name, e.size, e.mtime) for e in await source.list()]
        async with world.db.transaction() as tx:  # listed by the daemon first: they were on this server
            await files.record_seen(tx, "main", listed, now=NOW)
        await world.import_(EVENING[:4])
        await watch.check_server(world.db, world.settings, cfg, source)
        for name in EVENING[:2]:
            (world.rig.stats_dir / name).unlink()  # by hand, not by retention
        for _ in range(3):
            await watch.check_server(world.db, world.settings, cfg, source)
        [(kind, payload)] = await posts(world.db)
        assert kind == "alert"
        assert "imported, then deleted from the server by someone else than retention" in payload
        assert "2 files, 2025-10-02" in payload
        assert (await counts(world.db))[Kind.GONE_FROM_SERVER] == 2
    finally:
        await source.close()


async def test_the_watch_is_a_daemon_job_unless_turned_off(world: World) -> None:
    jobs = {job_id: seconds for job_id, seconds, _ in maintenance_jobs(world.settings)}
    assert jobs["ops:drift_watch"] == 3600  # [health] drift_check_minutes = 60 by default
    off = make_settings(world.rig.root.parent, world.rig, health={"drift_check_minutes": 0})
    assert "ops:drift_watch" not in {job_id for job_id, _, _ in maintenance_jobs(off)}


async def test_the_running_daemon_alerts_once_and_resolves_once(
    tmp_path: Path, samples_dir: Path, unused_tcp_port: int
) -> None:
    async with sftp_rig(tmp_path) as rig:
        for name in EVENING[:2]:
            rig.write(name, (samples_dir / name).read_bytes())
        settings = daemon_settings(
            tmp_path,
            [server_values("main", rig, min_file_age_seconds=0)],
            health={"drift_check_minutes": 0.005, "http_port": unused_tcp_port},  # every 0.3 s
        )
        chat = QuietChat()
        app = make_app(settings, chat=chat)
        stop = asyncio.Event()
        task = asyncio.create_task(app.run(stop))
        stray = settings.paths.local_stats / "main" / EVENING[4]  # a copy nobody registered
        key = alert_key("main", Kind.LOCAL_UNREGISTERED)
        try:
            async with await Database.open(settings.paths.db_path, lock=False) as db:

                async def imported() -> bool:
                    rows = await db.fetchall("SELECT count(*) FROM rounds")
                    return bool(rows[0][0] == 2)

                async def several_checks() -> None:
                    for _ in range(3):
                        mark = max((c.checked_at for c in await drift_counts.all_counts(db)), default=0.0)

                        async def checked_after(at: float = mark) -> bool:
                            return any(c.checked_at > at for c in await drift_counts.all_counts(db))

                        await until(checked_after, "a drift check")

                await until(imported, "the first import")
                await several_checks()
                assert "ALERT" not in chat.stream.getvalue()

                stray.write_bytes((samples_dir / EVENING[4]).read_bytes())

                async def alerted() -> bool:
                    alert = await status.get_alert(db, key)
                    return alert is not None and alert.resolved_at is None

                await until(alerted, "the drift alert")
                await several_checks()
                await until(lambda: _sent(db), "the alert post")
                printed = chat.stream.getvalue()
                assert (
                    printed.count("ALERT [warning] drift on main: in local_stats/ but not in the registry")
                    == 1
                )
                async with (
                    aiohttp.ClientSession() as http,
                    http.get(f"http://127.0.0.1:{unused_tcp_port}/metrics") as resp,
                ):
                    text = await resp.text()
                assert 'statsbot_drift_files{kind="local_unregistered",server="main"} 1' in text

                stray.unlink()

                async def resolved() -> bool:
                    alert = await status.get_alert(db, key)
                    return alert is not None and alert.resolved_at is not None

                await until(resolved, "the resolution")
                await several_checks()
                await until(lambda: _sent(db), "the resolved post")
                printed = chat.stream.getvalue()
                assert printed.count("ALERT [warning] drift on main") == 1
                assert (
                    printed.count("RESOLVED drift on main resolved: in local_stats/ but not in the registry")
                    == 1
                )
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                assert await asyncio.wait_for(task, 30) == 0


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(200):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def _sent(db: Database) -> bool:
    rows = await db.fetchall("SELECT count(*) FROM outbox WHERE state != 'sent'")
    return bool(rows[0][0] == 0)
