"""reprocess (one transaction, pair re-derived, history kept) and explain (a file's whole journey)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.db import ops_queries, status
from bot.db.connection import Database
from bot.db.files import events_for
from bot.ingest.importer import close_idle_sessions
from bot.ops.diagnose import diagnose
from bot.ops.drift import Kind
from bot.ops.explain import explain, journey_to_json, render_journey, split_file_argument
from bot.ops.repair import check_registry
from bot.ops.reprocess import Target, reprocess, reprocess_one, select_targets
from tests.helpers.ops import EVENING, LATER, World

R1, R2 = EVENING[6], EVENING[7]  # erdenberg_t2 round 1 and round 2


async def _round(db: Database, name: str) -> ops_queries.RoundRef:
    found = await ops_queries.rounds_named(db, name, "main")
    assert len(found) == 1
    return found[0]


async def _players(db: Database, round_id: int) -> list[tuple[object, ...]]:
    rows = await db.fetchall("SELECT * FROM player_stats WHERE round_id = ? ORDER BY player_key", (round_id,))
    return [tuple(r)[1:] for r in rows]  # without round_id


async def test_reprocess_round1_same_content_rederives_its_round2(world: World) -> None:
    world.put_remote(EVENING)
    await world.import_(EVENING)
    r1, r2 = await _round(world.db, R1), await _round(world.db, R2)
    assert r2.status == "paired"
    r1_players, r2_players = await _players(world.db, r1.id), await _players(world.db, r2.id)
    matches = await world.db.fetchall("SELECT count(*) FROM matches")

    [result] = await reprocess(world.db, world.settings, [Target("main", R1)])
    assert result.ok, result.detail
    new_r1, same_r2 = await _round(world.db, R1), await _round(world.db, R2)
    assert new_r1.id != r1.id
    assert result.new_round_id == new_r1.id
    assert same_r2.id == r2.id
    assert same_r2.status == "paired"
    assert same_r2.paired_round_id == new_r1.id
    assert await _players(world.db, new_r1.id) == r1_players
    assert await _players(world.db, r2.id) == r2_players  # R2-only values derived again, identical
    assert (await world.db.fetchall("SELECT count(*) FROM matches"))[0][0] == matches[0][0]
    assert await world.db.fetchall("SELECT 1 FROM player_stats WHERE round_id = ?", (r1.id,)) == []
    events = [e.event for e in await events_for(world.db, "main", R1)]
    assert events[-1] == "reprocessed"
    report = await diagnose(world.db, world.settings, source_factory=world.factory())
    assert [d.kind for d in report.servers[0].differences if d.matters] == []


async def test_reprocess_new_remote_version_replaces_the_round(world: World) -> None:
    world.put_remote(EVENING)
    await world.import_(EVENING)
    old = await _round(world.db, R1)
    data = (world.samples / R1).read_bytes()
    lines = data.split(b"\n")
    guid, _name, rest = lines[1].split(b"\\", 2)
    lines[1] = b"\\".join([guid, b"Renamed", rest])
    world.rig.write(R1, b"\n".join(lines), mtime=1_760_200_000)

    [result] = await reprocess(world.db, world.settings, [Target("main", R1)], source="remote")
    assert result.ok, result.detail
    assert result.detail == "new content"
    new = await _round(world.db, R1)
    assert new.sha256 != old.sha256
    names = {
        r[0] for r in await world.db.fetchall("SELECT name FROM player_stats WHERE round_id = ?", (new.id,))
    }
    assert "Renamed" in names
    assert (await _round(world.db, R2)).paired_round_id == new.id
    row = (await ops_queries.registry_rows_named(world.db, R1, "main"))[0]
    assert (row.state, row.sha256, row.round_id, row.mtime) == ("imported", new.sha256, new.id, 1_760_200_000)
    assert (world.local_dir / R1).read_bytes() == b"\n".join(lines)
    report = await diagnose(world.db, world.settings, source_factory=world.factory())
    assert [d.kind for d in report.servers[0].differences if d.matters] == []


async def test_reprocess_with_unparseable_content_changes_nothing(world: World) -> None:
    world.put_remote(EVENING)
    await world.import_(EVENING)
    old = await _round(world.db, R1)
    world.local_dir.mkdir(parents=True, exist_ok=True)
    (world.local_dir / R1).write_bytes(b"garbage\n")
    result = await reprocess_one(world.db, world.settings, Target("main", R1), source="local")
    assert not result.ok
    assert "quarantined" in result.detail
    assert await _round(world.db, R1) == old
    assert (await _round(world.db, R2)).paired_round_id == old.id
    row = (await ops_queries.registry_rows_named(world.db, R1, "main"))[0]
    assert (row.state, row.sha256) == ("imported", old.sha256)


async def test_quarantined_file_fixed_locally_is_imported_by_reprocess(world: World) -> None:
    name = LATER[0]
    world.rig.write(name, b"cut short\n")
    world.put_local([])
    (world.local_dir / name).write_bytes(b"cut short\n")
    assert (await world.import_content(name, b"cut short\n"))["state"] == "quarantined"
    assert await status.get_alert(world.db, f"quarantined:main:{name}") is not None
    (world.local_dir / name).write_bytes((world.samples / name).read_bytes())
    targets, problems = await select_targets(world.db, world.settings, files=[str(world.local_dir / name)])
    assert problems == []
    assert targets == [Target("main", name)]
    [result] = await reprocess(world.db, world.settings, targets)  # no stored round: the local copy is used
    assert result.ok, result.detail
    row = (await ops_queries.registry_rows_named(world.db, name, "main"))[0]
    assert row.state == "imported"
    alert = await status.get_alert(world.db, f"quarantined:main:{name}")
    assert alert is not None
    assert alert.resolved_at is not None


async def test_select_targets_by_map_and_date(world: World) -> None:
    world.put_remote(EVENING + LATER)
    await world.import_(EVENING + LATER)
    targets, _ = await select_targets(world.db, world.settings, map_name="etl_ice")
    assert [t.filename for t in targets] == LATER[:2]
    targets, _ = await select_targets(world.db, world.settings, since=dt.date(2025, 10, 17))
    assert [t.filename for t in targets] == LATER[2:]
    targets, problems = await select_targets(world.db, world.settings, files=["nope.txt"])
    assert problems == []
    assert [t.filename for t in targets] == ["nope.txt"]  # one server configured: it is assumed
    results = await reprocess(world.db, world.settings, targets)
    assert not results[0].ok
    assert "no stored content and no local copy" in results[0].detail


async def test_explain_tells_the_journey(world: World) -> None:
    world.put_remote(EVENING)
    await world.import_(EVENING)
    await reprocess(world.db, world.settings, [Target("main", R1)])
    [journey] = await explain(world.db, world.settings.paths.local_stats, R2)
    text = render_journey(journey)
    assert f"{R2} on server main" in text
    assert "registry: imported" in text
    assert "status paired" in text
    assert f"paired with #{journey.paired_with.id if journey.paired_with else '?'} {R1}" in text
    assert "imported" in [e.event for e in journey.events]
    kinds = {p.kind for p in journey.posts}
    assert {"round", "match"} <= kinds
    [j1] = await explain(world.db, world.settings.paths.local_stats, R1)
    assert [e.event for e in j1.events][-1] == "reprocessed"
    doc = journey_to_json(j1)
    assert doc["round"]["filename"] == R1
    assert await explain(world.db, world.settings.paths.local_stats, "2030-01-01-000000-x-round-1.txt") == []


async def test_explain_says_when_an_earlier_round_2_got_its_round_1(world: World) -> None:
    world.put_remote(EVENING)
    await world.import_([R2])  # the round 2 arrives first: stored raw, pending its round 1
    await world.import_([R1])
    events = [(e.event, e.detail) for e in await events_for(world.db, "main", R2)]
    assert ("paired", {"round1": R1, "because_of": R1}) in events
    [journey] = await explain(world.db, world.settings.paths.local_stats, R2)
    paired_line = next(line for line in render_journey(journey).splitlines() if "  paired " in line)
    assert R1 in paired_line
    assert (await _round(world.db, R2)).status == "paired"


async def test_explain_says_why_a_pending_round_2_became_an_orphan(world: World) -> None:
    world.put_remote([R2, LATER[0]])
    await world.import_([R2])  # pending its round 1
    await world.import_([LATER[0]])  # a later round 1: R2's own round 1 cannot come any more
    assert (await _round(world.db, R2)).status == "orphan"
    events = [(e.event, e.detail) for e in await events_for(world.db, "main", R2)]
    assert ("orphaned", {"because_of": LATER[0]}) in events


def test_file_argument_may_be_a_local_path(tmp_path: Path) -> None:
    root = tmp_path / "local_stats"
    assert split_file_argument(str(root / "main" / "a.txt.gz"), root) == ("a.txt", "main")
    assert split_file_argument("a.txt", root) == ("a.txt", None)
    assert split_file_argument("/elsewhere/a.txt", root) == ("a.txt", None)


async def test_new_version_quarantined_by_the_importer_is_not_drift_and_reprocess_takes_it(
    world: World,
) -> None:
    world.put_remote(EVENING)
    await world.import_(EVENING)
    old = await _round(world.db, R2)
    data = (world.samples / R2).read_bytes()
    newer = data + data.splitlines(keepends=True)[-1]  # a player line written twice
    world.rig.write(R2, newer, mtime=1_760_300_000)
    # the daemon re-downloads a changed file only by policy; the importer then keeps the round and quarantines
    assert (await world.import_content(R2, newer))["state"] == "quarantined"
    report = await diagnose(world.db, world.settings, source_factory=world.factory())
    kinds = {d.kind for d in report.servers[0].differences}
    assert Kind.QUARANTINED in kinds
    assert Kind.ROUND_WITHOUT_REGISTRY not in kinds  # quarantined on purpose: not registry drift
    assert await check_registry(world.db, ["main"], world.settings.paths.local_stats) == []

    [result] = await reprocess(world.db, world.settings, [Target("main", R2)], source="remote")
    assert result.ok, result.detail
    new = await _round(world.db, R2)
    assert new.sha256 != old.sha256
    assert new.status == "paired"
    row = (await ops_queries.registry_rows_named(world.db, R2, "main"))[0]
    assert (row.state, row.round_id) == ("imported", new.id)
    alert = await status.get_alert(world.db, f"quarantined:main:{R2}")
    assert alert is not None
    assert alert.resolved_at is not None


async def test_reprocess_keeps_sessions_and_posts_nothing_twice(world: World) -> None:
    world.put_remote(EVENING)
    await world.import_(EVENING)
    assert await close_idle_sessions(world.db, idle_seconds=60, now=10_000.0)
    sessions = await world.db.fetchall(
        "SELECT id, round_count, started_at, ended_at FROM sessions ORDER BY id"
    )
    posts = await world.db.fetchall("SELECT dedupe_key FROM outbox ORDER BY id")
    results = await reprocess(world.db, world.settings, [Target("main", n) for n in EVENING])
    assert all(r.ok for r in results), [r.detail for r in results]
    await close_idle_sessions(world.db, idle_seconds=60, now=20_000.0)
    after = await world.db.fetchall("SELECT id, round_count, started_at, ended_at FROM sessions ORDER BY id")
    assert [tuple(r) for r in after] == [tuple(r) for r in sessions]
    assert [r[0] for r in await world.db.fetchall("SELECT dedupe_key FROM outbox ORDER BY id")] == [
        r[0] for r in posts
    ]  # every post of the reprocessed rounds, matches and sessions was already queued once
    assert len(await ops_queries.round_refs(world.db, "main")) == 8


async def test_bad_remote_version_leaves_round_and_local_copy_alone(world: World) -> None:
    world.put_remote(EVENING)
    world.put_local(EVENING)
    await world.import_(EVENING)
    old = await _round(world.db, R1)
    world.rig.write(R1, b"broken on the server\n")
    [result] = await reprocess(world.db, world.settings, [Target("main", R1)], source="remote")
    assert not result.ok
    assert await _round(world.db, R1) == old
    assert (world.local_dir / R1).read_bytes() == (world.samples / R1).read_bytes()
    assert sorted(p.name for p in world.local_dir.iterdir()) == sorted(EVENING)  # no staging file left


async def test_explain_says_which_layer_answers_for_the_file(world: World) -> None:
    world.put_remote(EVENING)
    await world.import_(EVENING)
    [imported] = await explain(world.db, world.settings.paths.local_stats, R2)
    assert "processed-check: layer 1 (memory, imported)" in render_journey(imported)
    assert journey_to_json(imported)["processed_check"].startswith("layer 1")
    async with world.db.transaction() as tx:  # the registry row lost: layer 4 answers
        await tx.execute("DELETE FROM processed_files WHERE filename = ?", (R2,))
    [lost] = await explain(world.db, world.settings.paths.local_stats, R2)
    assert "layer 4 (imported rounds)" in render_journey(lost)
    async with world.db.transaction() as tx:
        await tx.execute("DELETE FROM processed_files WHERE filename = ?", (R1,))
        await tx.execute(
            "INSERT INTO processed_files(server, filename, size, mtime, state, attempts, first_seen_at, "
            "updated_at, next_attempt_at) VALUES ('main', ?, 1, 1, 'failed', 1, 1, 1, 1800000000)",
            (R1,),
        )
    [failed] = await explain(world.db, world.settings.paths.local_stats, R1)
    assert "layer 3 (processed_files, failed): retried from 2027-01-15" in render_journey(failed)
