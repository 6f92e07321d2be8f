"""reprocess under the state machine: whatever the new content would become, the outcome is a clean answer."""

from __future__ import annotations

from bot.db import ops_queries
from bot.ops.reprocess import Target, reprocess_one
from tests.helpers.ops import EVENING, World


async def test_reprocess_to_content_imported_elsewhere_is_refused_and_changes_nothing(world: World) -> None:
    original = (world.samples / EVENING[0]).read_bytes()
    lines = original.split(b"\n")
    guid, _name, rest = lines[1].split(b"\\", 2)
    lines[1] = b"\\".join([guid, b"Renamed", rest])
    other = "2025-10-02-211900-etl_adlernest-round-1.txt"  # same map and round, other content
    await world.import_content(EVENING[0], original)
    assert (await world.import_content(other, b"\n".join(lines)))["state"] == "imported"
    world.local_dir.mkdir(parents=True, exist_ok=True)
    (world.local_dir / other).write_bytes(original)  # its local copy now holds the first file's bytes
    result = await reprocess_one(world.db, world.settings, Target("main", other), source="local")
    assert not result.ok
    assert result.detail.startswith("the content is already imported from another file"), result.detail
    [row] = await ops_queries.registry_rows_named(world.db, other, "main")
    assert row.state == "imported"


async def test_reprocess_to_content_cut_short_is_refused_and_changes_nothing(world: World) -> None:
    world.put_local(EVENING[:1])
    await world.import_(EVENING[:1])
    data = (world.samples / EVENING[0]).read_bytes()
    (world.local_dir / EVENING[0]).write_bytes(data[: len(data) // 2])  # cut mid-line: worth a retry
    result = await reprocess_one(world.db, world.settings, Target("main", EVENING[0]), source="local")
    assert not result.ok
    assert "NOT reprocessed" in result.line()
    [row] = await ops_queries.registry_rows_named(world.db, EVENING[0], "main")
    assert (row.state, row.attempts) == ("imported", 0)
