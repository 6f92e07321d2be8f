"""`statsbot outbox list|retry`: dead posts are listed and re-queued, also while the daemon holds its lock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from bot.db import outbox
from bot.db.connection import Database
from bot.db.health import acquire_lock, release_lock
from bot.db.outbox import OutboxRow


async def _seed(path: Path | str) -> list[int]:
    async with await Database.open(path) as db:
        ids = []
        async with db.transaction() as tx:
            for n in range(3):
                new = await outbox.enqueue(
                    tx, kind="alert", channel="admin", dedupe_key=f"k{n}", payload={"n": n}, now=1.0
                )
                assert new is not None
                ids.append(new)
        await outbox.mark_dead(db, ids[0], "403 Forbidden: Missing Access")
        await outbox.mark_dead(db, ids[2], "404 Not Found: Unknown Channel")
        await outbox.mark_sent(db, ids[1], "m1", 2.0)
    return ids


async def _due(path: Path | str) -> list[OutboxRow]:
    async with await Database.open(path, lock=False) as db:
        return await outbox.due(db, now=10.0, limit=10)


async def _state(path: Path, outbox_id: int) -> str:
    async with await Database.open(path, lock=False) as db:
        row = await outbox.get(db, outbox_id)
    assert row is not None
    return row.state


@pytest.fixture
def config(tmp_path: Path) -> Path:
    cfg = tmp_path / "statsbot.toml"
    cfg.write_text(f'[paths]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    return cfg


def test_dead_posts_are_listed_and_requeued_while_the_daemon_holds_the_lock(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "data" / "statsbot.db"
    ids = asyncio.run(_seed(path))
    daemon_lock = acquire_lock(path)  # what a running daemon holds
    try:
        assert main(["--config", str(config), "outbox", "list"]) == 0
        listed = capsys.readouterr().out
        assert "403 Forbidden: Missing Access" in listed
        assert "Unknown Channel" in listed
        assert "2 dead post(s)" in listed

        assert main(["--config", str(config), "outbox", "retry", str(ids[2])]) == 0
        assert [row.id for row in asyncio.run(_due(path))] == [ids[2]]
        # A sent post is not dead: refused, left alone.
        assert main(["--config", str(config), "outbox", "retry", str(ids[1])]) == 1
        assert asyncio.run(_state(path, ids[1])) == "sent"

        assert main(["--config", str(config), "outbox", "retry", "--all"]) == 0
        due = asyncio.run(_due(path))
        assert [row.id for row in due] == [ids[0], ids[2]]
        assert all(row.attempts == 0 for row in due)
        capsys.readouterr()
        assert main(["--config", str(config), "outbox", "retry", "--all"]) == 0
        assert "no dead posts" in capsys.readouterr().out
    finally:
        release_lock(daemon_lock)


def test_retry_needs_ids_or_all(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config), "outbox", "retry"]) == 2
    assert "give outbox IDs or --all" in capsys.readouterr().err


def test_missing_database_is_reported_not_created(config: Path, tmp_path: Path) -> None:
    assert main(["--config", str(config), "outbox", "list"]) == 1
    assert not (tmp_path / "data" / "statsbot.db").exists()


def test_dead_posts_are_listed_and_requeued_on_postgresql(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # No lock file on PostgreSQL: the commands open the database beside the daemon, as every process may.
    config = tmp_path / "statsbot.toml"
    config.write_text(f'[database]\nurl = "{pg_url}"\n[paths]\ndata_dir = "{tmp_path / "data"}"\n')
    ids = asyncio.run(_seed(pg_url))
    assert main(["--config", str(config), "outbox", "list"]) == 0
    assert "2 dead post(s)" in capsys.readouterr().out
    assert main(["--config", str(config), "outbox", "retry", str(ids[1])]) == 1  # sent: left alone
    assert main(["--config", str(config), "outbox", "retry", "--all"]) == 0
    assert [row.id for row in asyncio.run(_due(pg_url))] == [ids[0], ids[2]]
    assert not (tmp_path / "data" / "statsbot.db").exists()  # no SQLite file made on the side
