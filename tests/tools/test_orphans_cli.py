"""A round deleted by hand (foreign keys off): db check finds orphans, repair removes them, no traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.helpers.ops import EVENING, World, cli, hand_delete_round, write_config


def _orphan_setup(db_path: Path) -> tuple[int, str]:
    """Hand-delete the newest round (a round 2 with a match) and its registry row, as the walkthrough did.

    Its player rows are also copied to the next id: the re-import then collides with orphans whether or not
    SQLite hands the deleted id out again.
    """
    conn = sqlite3.connect(db_path)
    try:
        rid, name = conn.execute("SELECT id, filename FROM rounds ORDER BY id DESC LIMIT 1").fetchone()
        conn.execute("PRAGMA foreign_keys=OFF")
        cols = [r[1] for r in conn.execute("PRAGMA table_info(player_stats)")]
        others = ", ".join(c for c in cols if c != "round_id")
        conn.execute(
            f"INSERT INTO player_stats (round_id, {others}) SELECT ?, {others} FROM player_stats "
            "WHERE round_id = ?",
            (rid + 1, rid),
        )
        conn.execute("DELETE FROM processed_files WHERE filename = ?", (name,))
        conn.commit()
    finally:
        conn.close()
    hand_delete_round(db_path, rid)
    return rid, name


def _count(db_path: Path, sql: str) -> int:
    conn = sqlite3.connect(db_path)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


async def test_orphans_are_reported_repaired_and_errors_are_one_line(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.put_remote(EVENING)
    world.put_local(EVENING)
    await world.import_(EVENING)
    await world.db.close()  # the writers below take the single-instance lock
    db_path = world.settings.paths.db_path
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
        assert "UNIQUE constraint failed" in lines[0]

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
    assert await cli(["--config", cfg, "db", "check"]) == 0
    assert capsys.readouterr().out.startswith("ok\n")

    assert await cli(["--config", cfg, "sync"]) == 0
    assert f"main/{name}: import → imported" in capsys.readouterr().out
    assert _count(db_path, "SELECT count(*) FROM rounds") == 8


async def test_db_check_without_a_database_says_where_it_looked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "statsbot.toml"
    cfg.write_text(f'[paths]\ndata_dir = "{tmp_path / "data"}"\nlocal_stats = "{tmp_path / "ls"}"\n')
    assert await cli(["--config", str(cfg), "db", "check"]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == (
        f"statsbot: no database at {tmp_path / 'data' / 'statsbot.db'} "
        "(check --config and the working directory)"
    )
    assert "BAD" not in captured.out
    assert not (tmp_path / "data" / "statsbot.db").exists()
