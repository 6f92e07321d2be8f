"""The operator's commands on PostgreSQL through the real CLI: `db check` runs the logical checks (there is
no file), a hand edit made in psql is found, and a server that cannot be reached is one line naming the
URL without its password, never a traceback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.db.tx import EngineError
from bot.ops.db_refused import DbRefusalWatch, refusal
from tests.helpers.engines import leading
from tests.helpers.ops import EVENING, World, cli, daemon_imported, open_world, sql


@pytest.fixture
async def pg_world(tmp_path: Path, samples_dir: Path, pg_url: str) -> AsyncIterator[World]:
    async with open_world(tmp_path, samples_dir, pg_url) as w:
        yield w


async def test_db_check_runs_the_logical_checks_and_finds_a_psql_hand_edit(
    pg_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world = pg_world
    cfg = await daemon_imported(world, tmp_path, EVENING[:4])
    url = str(world.settings.db_target)
    capsys.readouterr()
    assert await cli(["--config", cfg, "db", "check"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "ok"
    assert "PostgreSQL 1" in out
    assert "schema version " in out
    assert "kept aggregates equal a recomputation" in out
    assert "counts: 4 processed_files, 4 rounds" in out
    assert out.rstrip().endswith(": OK")
    assert "quick_check" not in out  # nothing about a file
    assert "WAL" not in out

    # psql with foreign keys off (session_replication_role = replica): a round deleted by hand
    [(round_id,)] = sql(url, "SELECT id FROM rounds WHERE filename = ?", (EVENING[0],))
    sql(url, "DELETE FROM rounds WHERE id = ?", (round_id,))
    assert await cli(["--config", cfg, "db", "check"]) == 1
    out = capsys.readouterr().out
    assert "player_stats row(s) point to a missing rounds row" in out
    assert "`statsbot registry repair --apply` removes them" in out
    assert "aggregates: players differs from a recomputation" in out  # the triggers were off too
    assert out.rstrip().endswith(": BAD")
    assert await cli(["--config", cfg, "registry", "repair", "--apply"]) == 0
    capsys.readouterr()
    assert await cli(["--config", cfg, "db", "check"]) == 1
    assert "orphans:" not in capsys.readouterr().out  # gone; the totals the hand edit left stay named


async def test_health_asks_the_server_not_a_file(
    pg_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await daemon_imported(pg_world, tmp_path, EVENING[:2])
    capsys.readouterr()
    async with leading(pg_world.db, pg_world.settings.database.instance):  # as a running daemon does
        assert await cli(["--config", cfg, "health"]) == 0
    out = capsys.readouterr().out
    assert "PostgreSQL answers" in out
    assert "quick_check" not in out


UNREACHABLE = "postgresql://statsbot:s3cret@127.0.0.1:1/nowhere?connect_timeout=2"
COMMANDS = [
    ["db", "check"], ["db", "backup"], ["health"], ["diagnose", "--no-remote"], ["retention", "--dry-run"],
    ["reprocess", "--stale"], ["sync", "--dry-run"], ["registry", "check", "--no-remote"],
    ["outbox", "list"], ["explain", EVENING[0]], ["player", "someone"], ["leaderboard", "kills"],
    ["session", "show"], ["once"],
]  # fmt: skip


async def test_an_unreachable_server_is_one_line_with_the_password_hidden(
    pg_world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = await daemon_imported(pg_world, tmp_path, EVENING[:2])
    monkeypatch.setenv("STATSBOT_DATABASE__URL", UNREACHABLE)
    capsys.readouterr()
    for command in COMMANDS:
        assert await cli(["--config", cfg, *command]) == 1, command
        said = capsys.readouterr()
        assert "s3cret" not in said.out + said.err, command
        assert "Traceback" not in said.err, command
        assert "statsbot:***@127.0.0.1:1/nowhere" in said.err, (command, said.err)


async def test_the_refusal_watch_knows_postgresql_codes_and_shows_no_password() -> None:
    assert refusal(EngineError("could not extend file", "53100")) == "disk full"
    assert refusal(EngineError("cannot execute INSERT in a read-only transaction", "25006")) == "read-only"
    assert refusal(EngineError("terminating connection", "08006")) == "unreachable"
    assert refusal(EngineError("duplicate key", "23505")) is None
    sent: list[str] = []

    async def send(text: str) -> None:
        sent.append(text)

    watch = DbRefusalWatch("postgresql://bot:s3cret@db.example/stats", send)
    assert watch.on_error("poll:main", EngineError("could not extend file", "53100"))
    await asyncio.sleep(0)
    watch.on_success("poll:main")
    await watch.close()
    assert len(sent) == 2
    assert all("s3cret" not in text and "bot:***@db.example/stats" in text for text in sent)
    assert "fix the PostgreSQL server" in sent[0]
    assert "MB free" not in sent[0] + sent[1]


async def test_the_scheduled_check_on_an_unanswering_server_stops_nothing(pg_url: str) -> None:
    from bot.db.connection import Database
    from bot.ops.dbcheck import run_check

    stopped: list[str] = []
    db = await Database.open(pg_url)
    try:
        assert await run_check(db, stopped.append)  # the server answers: passed, stamped
        assert db.checked_at is not None
        reads, db._reads = db._reads, None  # the read connection is gone (server restarted, network)
        assert reads is not None
        await reads.close()
        assert not await run_check(db, stopped.append)
        assert stopped == []  # a connection problem, not damage: imports go on
        assert not db.damaged
    finally:
        await db.close()
