"""`statsbot db backup` on PostgreSQL through the real CLI: pg_dump when installed (restored with
pg_restore), else a verified logical copy into a SQLite file (restored with `db migrate --from`)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import pg
from tests.helpers.ops import EVENING, World, cli, write_config


@pytest.fixture
async def world(sqlite_world: World) -> World:
    """The source database here is SQLite (what `db migrate` copies, what the fallback backup writes)."""
    return sqlite_world


TABLES = (
    "rounds",
    "player_stats",
    "weapon_stats",
    "players",
    "round_bests",
    "outbox",
    "processed_files",
    "file_events",
)


def _counts(url: str) -> dict[str, Any]:
    with pg.connect(url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}".encode()).fetchone() for t in TABLES}


async def _on_postgresql(world: World, tmp_path: Path, url: str) -> str:
    """The world's rounds imported into SQLite, moved to `url`; a config on PostgreSQL."""
    await world.import_(EVENING)
    await world.db.close()
    lite = str(write_config(world, tmp_path / "sqlite.toml"))
    assert await cli(["--config", lite, "db", "migrate", "--to", url]) == 0
    return str(write_config(world, tmp_path / "statsbot.toml", extra=f'[database]\nurl = "{url}"\n'))


async def test_pg_dump_backup_restores_with_pg_restore(
    world: World, tmp_path: Path, pg_database_url: str, pg_admin_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for tool in ("pg_dump", "pg_restore"):  # fail, never skip: the machine kind has the client tools
        assert shutil.which(tool), f"{tool} not found: install postgresql-client"
    cfg = await _on_postgresql(world, tmp_path, pg_database_url)
    capsys.readouterr()
    assert await cli(["--config", cfg, "db", "backup"]) == 0
    [dump] = (tmp_path / "backups").glob("statsbot-*.dump")
    assert f"backup written: {dump}" in capsys.readouterr().out
    with pg.fresh_database(pg_admin_url) as restored:
        subprocess.run(["pg_restore", "--no-owner", "--dbname", restored, str(dump)], check=True)
        assert _counts(restored) == _counts(pg_database_url)
        assert _counts(restored)["rounds"] == (len(EVENING),)


async def test_without_pg_dump_a_sqlite_copy_restores_with_db_migrate(
    world: World,
    tmp_path: Path,
    pg_database_url: str,
    pg_admin_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = await _on_postgresql(world, tmp_path, pg_database_url)
    empty = tmp_path / "no-tools"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # a host without the PostgreSQL client tools
    capsys.readouterr()
    assert await cli(["--config", cfg, "db", "backup"]) == 0
    [copy] = (tmp_path / "backups").glob("statsbot-*.db")
    assert f"backup written: {copy}" in capsys.readouterr().out
    assert not list((tmp_path / "backups").glob("*.part"))
    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one self-contained file
        lite = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone() for t in TABLES}
        # the aggregates as they are in PostgreSQL (the triggers did not count the copied rows again)
        [(rounds, kills)] = conn.execute("SELECT sum(rounds), sum(kills) FROM players").fetchall()
        triggers = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'").fetchone()
    finally:
        conn.close()
    assert lite == _counts(pg_database_url)
    assert triggers == (14,)  # recreated after the copy (0007: 9, 0009: 3, 0013: 2)
    with pg.connect(pg_database_url) as pgc:
        assert pgc.execute(b"SELECT sum(rounds), sum(kills) FROM players").fetchone() == (rounds, kills)
    with pg.fresh_database(pg_admin_url) as restored:
        argv = ["--config", cfg, "db", "migrate", "--from", str(copy), "--to", restored]
        assert await cli(argv) == 0
        assert "DIFFERENT" not in capsys.readouterr().out
        assert _counts(restored) == _counts(pg_database_url)
