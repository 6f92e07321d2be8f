"""A round deleted by hand (foreign keys off): db check finds orphans, repair removes them, no traceback.
On each engine: the sqlite3 shell's hand edit, or psql's (`session_replication_role = replica`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.db.pg_database import missing_message, redacted
from tests.helpers.engines import NewStore
from tests.helpers.ops import (
    EVENING,
    World,
    cli,
    empty_store_config,
    hand_delete_round,
    nothing_created,
    sql,
    write_config,
)

# The one line a collision with the orphans' UNIQUE keys prints, per engine's driver.
UNIQUE_FAILED = {"sqlite": "UNIQUE constraint failed", "postgresql": "duplicate key value violates unique"}

COLUMNS = (  # player_stats' columns, comma-separated: SQLite, PostgreSQL
    "SELECT group_concat(name, ',') FROM pragma_table_info('player_stats')",
    "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns "
    "WHERE table_schema = current_schema() AND table_name = 'player_stats'",
)


def _orphan_setup(target: Path | str) -> tuple[int, str]:
    """Hand-delete the newest round (a round 2 with a match) and its registry row, as the walkthrough did.

    Its player rows are also copied to the next two ids: each re-import below then collides with orphans
    whether or not the engine hands the deleted id out again, and whether or not a failed import gives its
    id back (SQLite's does, PostgreSQL's sequence does not).
    """
    [(rid, name)] = sql(target, "SELECT id, filename FROM rounds ORDER BY id DESC LIMIT 1")
    [(cols,)] = sql(target, COLUMNS[isinstance(target, str)])
    others = ", ".join(c for c in str(cols).split(",") if c != "round_id")
    for orphan in (rid + 1, rid + 2):
        sql(
            target,
            f"INSERT INTO player_stats (round_id, {others}) SELECT ?, {others} FROM player_stats "
            "WHERE round_id = ?",
            (orphan, rid),
        )
    sql(target, "DELETE FROM processed_files WHERE filename = ?", (name,))
    hand_delete_round(target, rid)
    return int(rid), str(name)


def _count(target: Path | str, query: str) -> int:
    return int(sql(target, query)[0][0])


async def test_orphans_are_reported_repaired_and_errors_are_one_line(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.put_remote(EVENING)
    world.put_local(EVENING)
    await world.import_(EVENING)
    engine = world.db.engine
    await world.db.close()  # the writers below take the single-instance lock (SQLite)
    db_path = world.settings.db_target
    rid, name = _orphan_setup(db_path)
    assert _count(db_path, f"SELECT count(*) FROM matches WHERE r2_round_id = {rid}") == 1
    cfg = str(write_config(world, tmp_path / "statsbot.toml"))

    assert await cli(["--config", cfg, "db", "check"]) == 1
    out = capsys.readouterr().out
    assert "orphans: " in out
    assert "player_stats row(s) point to a missing rounds row" in out
    assert "matches row(s) point to a missing rounds row" in out
    assert "`statsbot registry repair --apply`" in out
    assert out.rstrip().endswith("BAD")

    # the import collides with the orphans' UNIQUE keys: one line on stderr, exit 1, no traceback
    for command in (["sync"], ["reprocess", EVENING[0]]):
        assert await cli(["--config", cfg, *command]) == 1, command
        captured = capsys.readouterr()
        assert "Traceback" not in captured.out + captured.err
        lines = [ln for ln in captured.err.splitlines() if ln.startswith("statsbot: database error")]
        assert len(lines) == 1, captured.err
        assert UNIQUE_FAILED[engine] in lines[0]

    assert await cli(["--config", cfg, "registry", "check"]) == 1
    out = capsys.readouterr().out
    assert "would: player_stats: " in out
    assert "would: weapon_stats: " in out
    assert "would: matches: 1 row(s) whose r1/r2_round_id → rounds row is gone" in out

    assert await cli(["--config", cfg, "registry", "repair", "--apply"]) == 0
    out = capsys.readouterr().out
    assert "applied: player_stats: " in out
    assert (
        _count(db_path, "SELECT count(*) FROM player_stats WHERE round_id NOT IN (SELECT id FROM rounds)")
        == 0
    )
    assert (
        _count(db_path, "SELECT count(*) FROM weapon_stats WHERE round_id NOT IN (SELECT id FROM rounds)")
        == 0
    )
    assert _count(db_path, "SELECT count(*) FROM matches") == 3
    # idempotent: a second run finds nothing
    assert await cli(["--config", cfg, "registry", "repair", "--apply"]) == 0
    assert "nothing to do" in capsys.readouterr().out
    if engine == "sqlite":
        assert await cli(["--config", cfg, "db", "check"]) == 0
        assert capsys.readouterr().out.startswith("ok\n")
    else:  # psql's hand edit ran with the triggers off too: the kept totals stay named (test_ops_postgresql)
        assert await cli(["--config", cfg, "db", "check"]) == 1
        out = capsys.readouterr().out
        assert "orphans:" not in out
        assert "aggregates: players differs from a recomputation" in out

    assert await cli(["--config", cfg, "sync"]) == 0
    assert f"main/{name}: import → imported" in capsys.readouterr().out
    assert _count(db_path, "SELECT count(*) FROM rounds") == 8


async def test_db_check_without_a_database_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], new_store: NewStore
) -> None:
    store = new_store(empty=True)
    cfg = empty_store_config(tmp_path, store)
    assert await cli(["--config", str(cfg), "db", "check"]) == 1
    captured = capsys.readouterr()
    if isinstance(store, Path):
        said = (
            f"no database at {tmp_path / 'data' / 'statsbot.db'} (check --config and the working directory)"
        )
    else:
        said = missing_message(store)
        assert said.startswith(f"no statsbot database at {redacted(store)} (password hidden)")
    assert captured.err.strip() == f"statsbot: {said}"
    assert "BAD" not in captured.out
    assert nothing_created(tmp_path, store)
