"""diagnose / registry repair / sync against a real SFTP server and a real database: drift found and fixed."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from bot.db import ops_queries
from bot.db.connection import Database
from bot.db.files import events_for
from bot.ingest.source import StatsSource
from bot.ops.diagnose import diagnose
from bot.ops.drift import Kind, ServerReport
from bot.ops.explain import explain
from bot.ops.repair import FORGET, RECORD_IMPORTED, apply_changes, check_registry
from bot.ops.report import render_text, report_to_json
from bot.ops.sync import sync
from tests.helpers.engines import SQLITE_ONLY
from tests.helpers.ops import EVENING, LATER, World, make_settings


async def _report(w: World) -> ServerReport:
    report = await diagnose(w.db, w.settings, source_factory=w.factory())
    assert len(report.servers) == 1
    return report.servers[0]


async def _round_ids(db: Database) -> dict[str, int]:
    return {r.filename: r.id for r in await ops_queries.round_refs(db, "main")}


async def test_consistent_world_reports_four_equal_counts(world: World) -> None:
    world.put_remote(EVENING)
    world.put_local(EVENING)
    assert set((await world.import_(EVENING)).values()) == {"imported"}
    rep = await _report(world)
    assert rep.reachable
    assert rep.differences == ()
    assert (rep.counts.remote, rep.counts.local, rep.counts.registry_total, rep.counts.rounds) == (8, 8, 8, 8)
    text = render_text(await diagnose(world.db, world.settings, source_factory=world.factory()))
    assert "no differences" in text
    assert "overall: OK" in text


async def test_files_deleted_locally_are_harmless_and_restore_local_brings_them_back(world: World) -> None:
    world.put_remote(EVENING)
    world.put_local(EVENING)
    await world.import_(EVENING)
    for name in EVENING[:3]:
        (world.local_dir / name).unlink()
    rep = await _report(world)
    diff = rep.difference(Kind.MISSING_LOCALLY)
    assert diff is not None
    assert diff.files == tuple(sorted(EVENING[:3]))
    assert not diff.matters
    assert rep.healthy
    assert "3 files processed but missing locally, 2025-10-02: harmless" in diff.recommendation
    before = await _round_ids(world.db)

    result = await sync(world.db, world.settings, restore_local=True, source_factory=world.factory())
    assert result.ok
    assert sorted(i.filename for i in result.items if i.outcome == "restored") == sorted(EVENING[:3])
    assert all((world.local_dir / n).read_bytes() == (world.samples / n).read_bytes() for n in EVENING[:3])
    assert await _round_ids(world.db) == before  # nothing imported again
    assert (await _report(world)).differences == ()
    restored = [e for e in await events_for(world.db, "main", EVENING[0]) if e.event == "local_restored"]
    assert len(restored) == 1  # `statsbot explain` shows where the local copy came back from
    assert restored[0].detail["via"] == "sync (server)"


async def test_registry_rows_deleted_by_hand_are_recorded_again_without_reimport(world: World) -> None:
    world.put_remote(EVENING)
    world.put_local(EVENING)
    await world.import_(EVENING)
    before = await _round_ids(world.db)
    gone = EVENING[2:5]
    for name in gone:
        await world.db.execute("DELETE FROM processed_files WHERE server = 'main' AND filename = ?", (name,))
    rep = await _report(world)
    diff = rep.difference(Kind.ROUND_WITHOUT_REGISTRY)
    assert diff is not None
    assert diff.files == tuple(sorted(gone))
    # files with a round are not "never processed", whatever the registry says
    assert rep.difference(Kind.REMOTE_UNPROCESSED) is None

    def source_for(server: str) -> StatsSource:  # the server is listed: rows get the listed mtime too
        return world.factory()(world.settings.server(server))

    changes = await check_registry(
        world.db, ["main"], world.settings.paths.local_stats, source_for=source_for
    )
    assert [(c.filename, c.action) for c in changes] == [(n, RECORD_IMPORTED) for n in sorted(gone)]
    assert await apply_changes(world.db, changes) == 3
    again = await check_registry(world.db, ["main"], world.settings.paths.local_stats, source_for=source_for)
    assert again == []  # idempotent
    assert (await _report(world)).differences == ()
    rows = {r.filename: r for r in await ops_queries.registry_rows(world.db, "main")}
    assert all(rows[n].state == "imported" and rows[n].round_id == before[n] for n in gone)
    assert rows[gone[0]].size == (world.samples / gone[0]).stat().st_size
    assert rows[gone[0]].mtime == int((world.rig.stats_dir / gone[0]).stat().st_mtime)
    assert await _round_ids(world.db) == before


async def test_rounds_deleted_by_hand_are_forgotten_then_imported_again_once(world: World) -> None:
    world.put_remote(EVENING)
    world.put_local(EVENING)
    await world.import_(EVENING)
    victims = EVENING[4:6]  # braundorf R1 + R2
    for name in victims:
        await world.db.execute("DELETE FROM rounds WHERE server = 'main' AND filename = ?", (name,))
    rep = await _report(world)
    diff = rep.difference(Kind.IMPORTED_WITHOUT_ROUND)
    assert diff is not None
    assert diff.files == tuple(sorted(victims))
    assert "re-imports the 2 that still have a local or remote copy" in diff.recommendation

    changes = await check_registry(world.db, ["main"], world.settings.paths.local_stats)
    assert {(c.filename, c.action) for c in changes} == {(n, FORGET) for n in victims}
    await apply_changes(world.db, changes)
    rep = await _report(world)
    unprocessed = rep.difference(Kind.REMOTE_UNPROCESSED)
    assert unprocessed is not None
    assert unprocessed.files == tuple(sorted(victims))

    result = await sync(world.db, world.settings, source_factory=world.factory())
    assert sorted((i.filename, i.outcome) for i in result.items) == [(n, "imported") for n in sorted(victims)]
    assert (await _report(world)).differences == ()
    assert len(await _round_ids(world.db)) == 8
    again = await sync(world.db, world.settings, source_factory=world.factory())
    assert again.items == []  # idempotent: nothing left to import


@SQLITE_ONLY
async def test_older_backup_restored_sync_imports_only_the_missing_files(
    world: World, tmp_path: Path
) -> None:
    world.put_remote(EVENING + LATER)
    world.put_local(EVENING + LATER)
    await world.import_(EVENING)
    backup = tmp_path / "old.db"
    await world.db.backup(backup)
    await world.import_(LATER)
    db_path = world.settings.paths.db_path
    await world.db.close()
    shutil.copyfile(backup, db_path)
    for suffix in ("-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    world.db = await Database.open(db_path)

    rep = await _report(world)
    diff = rep.difference(Kind.REMOTE_UNPROCESSED)
    assert diff is not None
    assert diff.files == tuple(sorted(LATER))
    assert (diff.first_date, diff.last_date) == ("2025-10-14", "2025-10-17")
    assert rep.difference(Kind.LOCAL_UNREGISTERED) is None  # listed once, under the server column

    dry = await sync(world.db, world.settings, dry_run=True, source_factory=world.factory())
    assert sorted(i.filename for i in dry.items) == sorted(LATER)
    assert len(await _round_ids(world.db)) == 8  # a dry run changes nothing
    result = await sync(world.db, world.settings, source_factory=world.factory())
    assert [i.outcome for i in result.items] == ["imported"] * 4
    assert len(await _round_ids(world.db)) == 12
    assert (await _report(world)).differences == ()


async def test_sync_since_limits_the_window(world: World) -> None:
    world.put_remote(EVENING + LATER)
    result = await sync(world.db, world.settings, since=dt.date(2025, 10, 15), source_factory=world.factory())
    assert sorted(i.filename for i in result.items) == sorted(LATER[2:])
    assert all(i.outcome == "imported" for i in result.items)
    assert sorted(p.name for p in world.local_dir.iterdir()) == sorted(LATER[2:])


async def test_file_changed_on_server_after_import_is_reported(world: World) -> None:
    world.put_remote(EVENING)
    await world.import_(EVENING)
    changed = EVENING[0]
    data = (world.samples / changed).read_bytes()
    world.rig.write(changed, data + data.splitlines(keepends=True)[-1], mtime=1_760_100_000)
    rep = await _report(world)
    diff = rep.difference(Kind.CHANGED_AFTER_IMPORT)
    assert diff is not None
    assert diff.files == (changed,)
    assert f"server now size {len(data) + len(data.splitlines(keepends=True)[-1])}" in diff.errors[changed]
    # and sync does not import the changed file a second time on its own
    result = await sync(world.db, world.settings, source_factory=world.factory())
    assert result.items == []


async def test_unreachable_server_is_reported_not_raised(world: World) -> None:
    world.put_local(EVENING[:2])
    await world.import_(EVENING[:2])
    await world.rig.server.stop()
    report = await diagnose(world.db, world.settings, source_factory=world.factory())
    rep = report.servers[0]
    assert not rep.reachable
    assert rep.counts.remote is None
    assert rep.remote_error
    assert rep.counts.rounds == 2
    doc = report_to_json(report)
    assert doc["servers"][0]["counts"]["remote"] is None
    json.dumps(doc)  # serialisable
    assert "remote unknown" in render_text(report)
    result = await sync(world.db, world.settings, source_factory=world.factory())
    assert not result.ok
    assert "main" in result.unreachable


async def test_failed_and_quarantined_files_are_listed_with_their_errors(world: World) -> None:
    good = EVENING[0]
    bad = "2025-10-02-235959-supply-round-1.txt"
    world.rig.write(good, (world.samples / good).read_bytes())
    world.rig.write(bad, b"this is not a stats file\n")
    result = await sync(world.db, world.settings, source_factory=world.factory())
    assert {i.filename: i.outcome for i in result.items} == {good: "imported", bad: "quarantined"}
    assert not result.ok
    rep = await _report(world)
    diff = rep.difference(Kind.QUARANTINED)
    assert diff is not None
    assert diff.files == (bad,)
    assert bad in diff.errors
    assert "line" in diff.errors[bad]


async def test_several_servers_one_down_one_disabled_one_only_in_the_database(
    world: World, unused_tcp_port: int
) -> None:
    world.put_remote(EVENING[:2])
    await world.import_(EVENING[:2])
    await world.import_(LATER[:2], server="old")  # a server removed from the config
    main = world.settings.servers[0].model_dump()
    down = {**main, "name": "down", "port": unused_tcp_port}
    off = {**main, "name": "off", "enabled": False}
    settings = make_settings(world.rig.root.parent, world.rig, servers=[main, down, off])
    report = await diagnose(world.db, settings, source_factory=world.factory())
    by_name = {r.server: r for r in report.servers}
    assert list(by_name) == ["main", "down", "off", "old"]
    assert by_name["main"].reachable
    assert by_name["main"].healthy
    assert not by_name["down"].reachable
    assert by_name["off"].remote_error == "server disabled"
    assert by_name["old"].remote_error == "not configured"
    assert by_name["old"].counts.rounds == 2
    assert not report.healthy
    only = await diagnose(world.db, settings, server="old", source_factory=world.factory())
    assert [r.server for r in only.servers] == ["old"]


async def test_sync_prefers_a_matching_local_copy_and_works_without_the_server(world: World) -> None:
    world.put_remote(EVENING[:2])
    world.put_local(EVENING[:2])
    (world.local_dir / EVENING[1]).write_bytes(b"partial")  # a stale copy: wrong size, must be downloaded
    result = await sync(world.db, world.settings, source_factory=world.factory())
    assert [i.outcome for i in result.items] == ["imported", "imported"]
    assert (world.local_dir / EVENING[1]).read_bytes() == (world.samples / EVENING[1]).read_bytes()
    events = {
        n: (await explain(world.db, world.settings.paths.local_stats, n))[0].events for n in EVENING[:2]
    }
    assert [e.detail.get("via") for e in events[EVENING[0]] if e.event == "downloaded"] == [
        "sync (local_stats)"
    ]
    assert [e.detail.get("via") for e in events[EVENING[1]] if e.event == "downloaded"] == ["sync (server)"]

    await world.rig.server.stop()
    world.put_local(LATER[:1])
    offline = await sync(world.db, world.settings, source_factory=world.factory())
    assert [(i.filename, i.outcome) for i in offline.items] == [(LATER[0], "imported")]
    assert "main" in offline.unreachable
