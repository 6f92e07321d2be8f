"""`[database] synchronous_commit = false`: off on the writer's connection only, durable by default."""

from __future__ import annotations

from pathlib import Path

from bot.config import load_settings
from bot.db.connection import Database


async def _settings(db: Database) -> tuple[str, str]:
    writer = await db.fetchone("SELECT current_setting('synchronous_commit')")
    reader = await db.reads.fetchone("SELECT current_setting('synchronous_commit')")
    assert writer is not None
    assert reader is not None
    return str(writer[0]), str(reader[0])


async def test_default_keeps_commits_durable(pg_url: str) -> None:
    async with await Database.open(pg_url) as db:
        assert await _settings(db) == ("on", "on")


async def test_off_applies_to_the_writer_only(pg_url: str) -> None:
    async with await Database.open(pg_url, synchronous_commit=False) as db:
        assert await _settings(db) == ("off", "on")
        # Still transactional: a commit made with it off is read back as committed.
        await db.execute("UPDATE instance SET quiet_until = ? WHERE id = 1", ('{"main": "x"}',))
        row = await db.reads.fetchone("SELECT quiet_until FROM instance WHERE id = 1")
        assert row is not None
        assert row[0] == '{"main": "x"}'


def test_config_key(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[database]\nsynchronous_commit = false\n")
    assert load_settings(config, environ={}).database.synchronous_commit is False
    config.write_text("")
    assert load_settings(config, environ={}).database.synchronous_commit is True
