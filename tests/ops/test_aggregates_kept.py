"""Kept player aggregates (migration `players`) equal a recomputation after every path that changes rows."""

from __future__ import annotations

from bot.db import aggregates, ops_queries
from bot.db.connection import Database
from bot.ops.reprocess import Target, reprocess
from tests.helpers.engines import SQLITE_ONLY
from tests.helpers.ops import EVENING, LATER, World


async def _snapshot(db: Database) -> dict[str, list[tuple[object, ...]]]:
    out = {}
    for table in aggregates.AGGREGATE_TABLES:
        rows = await db.fetchall(f"SELECT * FROM {table} ORDER BY 1, 2")
        out[table] = [tuple(round(v, 6) if isinstance(v, float) else v for v in r) for r in rows]
    return out


async def test_kept_aggregates_equal_a_recomputation_in_any_import_order(world: World) -> None:
    names = EVENING + LATER
    await world.import_(names)
    assert await aggregates.drift(world.db) == {}
    in_order = await _snapshot(world.db)
    assert len(in_order["players"]) > 5
    counted = await world.db.fetchone(
        "SELECT count(*) FROM player_stats p JOIN rounds r ON r.id = p.round_id "
        "WHERE r.status IN ('r1', 'paired')"
    )
    kept = await world.db.fetchone("SELECT sum(rounds) FROM players")
    assert counted is not None
    assert kept is not None
    assert kept[0] == counted[0]

    # Every round 2 before its round 1 (a backfill in the worst order): same aggregates.
    await world.db.execute("DELETE FROM rounds")
    await world.db.execute("DELETE FROM processed_files")
    assert all(not rows for rows in (await _snapshot(world.db)).values())  # deleting subtracted it all
    await world.import_(list(reversed(names)))
    assert await aggregates.drift(world.db) == {}
    assert await _snapshot(world.db) == in_order


async def test_reprocess_and_delete_keep_aggregates_exact(world: World) -> None:
    world.put_remote(EVENING)
    await world.import_(EVENING)
    before = await _snapshot(world.db)
    [result] = await reprocess(world.db, world.settings, [Target("main", EVENING[6])])
    assert result.ok, result.detail
    assert await aggregates.drift(world.db) == {}
    assert await _snapshot(world.db) == before
    [r1] = await ops_queries.rounds_named(world.db, EVENING[0], "main")
    async with world.db.transaction() as tx:
        await ops_queries.delete_round(tx, r1.id)  # its round 2 becomes unpaired raw values
    assert await aggregates.drift(world.db) == {}
    assert await _snapshot(world.db) != before


@SQLITE_ONLY
async def test_migration_backfills_aggregates_of_an_existing_database(world: World) -> None:
    await world.import_(EVENING)
    kept = await _snapshot(world.db)
    # Empty the kept tables and run the migration's backfill statements again: the same rows come back.
    from bot.db.migrations_runner import discover, split_statements

    [players] = [m for m in discover() if m.name == "players"]  # whatever number it was given
    script = players.path.read_text(encoding="utf-8")
    code = [
        "\n".join(ln for ln in s.splitlines() if not ln.startswith("--")) for s in split_statements(script)
    ]
    backfill = [s for s in code if s.startswith(("INSERT", "UPDATE"))]
    assert len(backfill) == 7

    def run(stx: object) -> None:
        for table in aggregates.AGGREGATE_TABLES:
            stx.execute(f"DELETE FROM {table}")  # type: ignore[attr-defined]
        for statement in backfill:
            stx.execute(statement)  # type: ignore[attr-defined]

    await world.db.run_transaction(run)  # type: ignore[arg-type]
    assert await _snapshot(world.db) == kept
