"""Retention on a real tree with unparseable names: local gzip/delete, remote delete in batches."""

from __future__ import annotations

import datetime as dt
import gzip

from bot.db.files import events_for
from bot.ops.diagnose import diagnose
from bot.ops.drift import Kind
from bot.ops.retention import cutoff_date, run_retention
from tests.helpers.ops import EVENING, LATER, World, make_settings

# 2025-11-10: the EVENING files (2025-10-02) are more than 30 days old, the LATER ones (10-14, 10-17) not.
NOW = dt.datetime(2025, 11, 10, 12, tzinfo=dt.UTC).timestamp()
JUNK = ["notes.txt", "2025-13-01-000000-supply-round-1.txt"]
QUARANTINED = "2025-10-01-200000-supply-round-1.txt"
UNREGISTERED = "2025-10-01-210000-supply-round-2.txt"


def _retention(world: World, **values: object) -> None:
    world.settings = make_settings(world.rig.root.parent, world.rig, retention=values)


async def _tree(world: World) -> None:
    world.put_remote(EVENING + LATER)
    world.put_local(EVENING + LATER)
    await world.import_(EVENING + LATER)
    for name in JUNK:
        (world.local_dir / name).write_bytes(b"junk\n")
    (world.local_dir / QUARANTINED).write_bytes(b"broken\n")
    await world.import_content(QUARANTINED, b"broken\n")
    (world.local_dir / UNREGISTERED).write_bytes(b"not yet imported\n")


def test_cutoff_is_whole_days() -> None:
    assert cutoff_date(NOW, 30) == "2025-10-11"


async def test_local_compress_skips_junk_and_unprocessed_and_keeps_diagnose_clean(world: World) -> None:
    await _tree(world)
    _retention(world, local_days=30, local_action="compress")
    dry = await run_retention(world.db, world.settings, now=NOW, dry_run=True)
    assert sorted(i.filename for i in dry.items if i.outcome == "would") == sorted(EVENING)
    assert all((world.local_dir / n).exists() for n in EVENING)

    result = await run_retention(world.db, world.settings, now=NOW)
    assert result.ok
    assert result.count("compress") == 8
    skipped = {i.filename: i.detail for i in result.items if i.outcome == "skipped"}
    assert skipped == {
        JUNK[0]: "not a stats file name",
        JUNK[1]: "not a stats file name",
        QUARANTINED: "state quarantined: kept until processed",
        UNREGISTERED: "no registry row: kept until processed",
    }
    for name in EVENING:
        assert not (world.local_dir / name).exists()
        assert (
            gzip.decompress((world.local_dir / f"{name}.gz").read_bytes())
            == (world.samples / name).read_bytes()
        )
    assert all((world.local_dir / n).exists() for n in LATER)  # too recent
    assert not list(world.local_dir.glob("*.part"))
    assert "retention_compress" in [e.event for e in await events_for(world.db, "main", EVENING[0])]

    rep = (await diagnose(world.db, world.settings, source_factory=world.factory())).servers[0]
    assert rep.difference(Kind.MISSING_LOCALLY) is None  # a compressed copy is a copy
    assert rep.counts.local_compressed == 8
    again = await run_retention(world.db, world.settings, now=NOW)
    assert again.count("compress") == 0  # idempotent


async def test_local_delete_then_diagnose_calls_it_harmless(world: World) -> None:
    await _tree(world)
    _retention(world, local_days=30, local_action="delete")
    result = await run_retention(world.db, world.settings, now=NOW)
    assert result.count("delete_local") == 8
    assert (world.local_dir / JUNK[0]).exists()
    rep = (await diagnose(world.db, world.settings, source_factory=world.factory())).servers[0]
    diff = rep.difference(Kind.MISSING_LOCALLY)
    assert diff is not None
    assert diff.files == tuple(sorted(EVENING))
    assert not diff.matters


async def test_remote_delete_only_imported_files_in_batches(world: World) -> None:
    await _tree(world)
    world.rig.write("matchid.txt", b"x")
    never = "2025-09-30-200000-supply-round-1.txt"
    world.rig.write(never, (world.samples / LATER[0]).read_bytes())  # old, on the server, never processed
    changed = EVENING[0]
    world.rig.write(changed, (world.samples / changed).read_bytes() + b"extra\n")
    _retention(world, remote_delete_days=30, remote_batch=3)

    first = await run_retention(world.db, world.settings, now=NOW, source_factory=world.factory())
    assert first.count("delete_remote") == 3
    assert {i.filename: i.detail for i in first.items if i.outcome == "skipped"} == {
        changed: f"changed since import: size {len((world.samples / changed).read_bytes())} → "
        f"{len((world.samples / changed).read_bytes()) + 6}",
        "matchid.txt": "not a stats file name",
    }
    second = await run_retention(world.db, world.settings, now=NOW, source_factory=world.factory())
    third = await run_retention(world.db, world.settings, now=NOW, source_factory=world.factory())
    assert (second.count("delete_remote"), third.count("delete_remote")) == (3, 1)
    remaining = sorted(p.name for p in world.rig.stats_dir.iterdir())
    assert remaining == sorted([changed, never, "matchid.txt", *LATER])
    assert "retention_delete_remote" in [e.event for e in await events_for(world.db, "main", EVENING[1])]
    rep = (await diagnose(world.db, world.settings, source_factory=world.factory())).servers[0]
    kinds = {d.kind for d in rep.differences if d.matters}
    assert Kind.IMPORTED_WITHOUT_ROUND not in kinds  # registry and data still agree
    unprocessed = rep.difference(Kind.REMOTE_UNPROCESSED)
    assert unprocessed is not None
    assert unprocessed.files == (never,)


async def test_retention_off_by_default_does_nothing(world: World) -> None:
    await _tree(world)
    result = await run_retention(world.db, world.settings, now=NOW, source_factory=world.factory())
    assert result.items == []
    assert all((world.local_dir / n).exists() for n in EVENING)
