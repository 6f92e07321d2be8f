"""Parser versions: each round records the parser that made it; `reprocess --stale` re-derives older ones."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

from bot.db import ops_queries
from bot.db.connection import Database
from bot.ops.drift import Kind
from bot.ops.reprocess_stale import StaleProgress, reprocess_stale
from bot.stats.version import PARSER_VERSION
from tests.helpers.ops import EVENING, LATER, World, cli, sql, write_config


def made_by_older_parser(db_path: Path | str, names: list[str], version: int = PARSER_VERSION - 1) -> None:
    """A database an older parser version filled: what those rounds' rows say after the upgrade."""
    for name in names:
        sql(db_path, "UPDATE rounds SET parser_version = ? WHERE filename = ?", (version, name))


def stored_content_becomes(db_path: Path | str, name: str, data: bytes) -> None:
    sql(db_path, "UPDATE rounds SET raw_content = ? WHERE filename = ?", (zlib.compress(data), name))


async def versions(db: Database) -> dict[str, int]:
    return {r.filename: r.parser_version for r in await ops_queries.round_refs(db, "main")}


async def test_new_rounds_carry_the_current_parser_version(world: World) -> None:
    await world.import_(EVENING[:2])
    assert await versions(world.db) == dict.fromkeys(EVENING[:2], PARSER_VERSION)


async def test_cli_reprocess_stale_on_a_database_made_by_an_older_parser(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await world.import_(EVENING + LATER)
    pairs_before = await world.db.fetchall("SELECT r1_round_id IS NOT NULL FROM matches")
    await world.db.close()  # the CLI writes: it takes the single-instance lock
    db_path = world.settings.db_target
    made_by_older_parser(db_path, EVENING)
    cfg = str(write_config(world, tmp_path / "statsbot.toml"))
    capsys.readouterr()  # the import's log lines

    assert await cli(["--config", cfg, "diagnose", "--no-remote", "--json"]) == 0  # harmless: exit 0
    [stale] = [d for d in json.loads(capsys.readouterr().out)["servers"][0]["differences"]
               if d["kind"] == Kind.STALE_ROUNDS]  # fmt: skip
    assert (stale["count"], stale["first_date"], stale["last_date"]) == (8, "2025-10-02", "2025-10-02")
    assert sorted(stale["files"]) == sorted(EVENING)
    assert "`statsbot reprocess --stale`" in stale["recommendation"]
    assert await cli(["--config", cfg, "diagnose", "--no-remote"]) == 0
    assert "8 rounds made by an older parser version" in capsys.readouterr().out

    assert await cli(["--config", cfg, "reprocess", "--stale", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("would reprocess") == 8
    assert f"(parser version {PARSER_VERSION - 1})" in out
    assert await cli(["--config", cfg, "reprocess", "--stale", EVENING[0]]) == 2  # one selection at a time

    assert await cli(["--config", cfg, "reprocess", "--stale"]) == 0
    captured = capsys.readouterr()
    assert "reprocess --stale: 0/8 rounds (0%), 0 not reprocessed" in captured.err
    assert "reprocess --stale: 8/8 rounds (100%), 0 not reprocessed" in captured.err
    assert f"reprocessed 8 of 8 stale rounds (now parser version {PARSER_VERSION})" in captured.out

    async with await Database.open(db_path, lock=False) as db:
        assert await versions(db) == dict.fromkeys(EVENING + LATER, PARSER_VERSION)
        refs = {r.filename: r for r in await ops_queries.round_refs(db, "main")}
        assert all(refs[n].status == "paired" for n in EVENING[1::2])  # every round 2 paired again
        assert await db.fetchall("SELECT r1_round_id IS NOT NULL FROM matches") == pairs_before
    assert await cli(["--config", cfg, "diagnose", "--no-remote"]) == 0
    assert "older parser" not in capsys.readouterr().out
    assert await cli(["--config", cfg, "reprocess", "--stale"]) == 0
    assert (
        f"no stale rounds: every round was made by parser version {PARSER_VERSION}" in capsys.readouterr().out
    )


async def test_reprocess_stale_pages_through_and_leaves_a_round_that_no_longer_parses(
    world: World,
) -> None:
    await world.import_(EVENING + LATER)
    await world.db.close()
    db_path = world.settings.db_target
    made_by_older_parser(db_path, EVENING + LATER)
    broken = LATER[3]  # a round 2: its round 1 re-derives it, so that one cannot be reprocessed either
    stored_content_becomes(db_path, broken, b"not a stats file\n")
    seen: list[StaleProgress] = []
    async with await Database.open(db_path) as db:
        run = await reprocess_stale(db, world.settings, batch=5, on_progress=seen.append)
        assert [(p.done, p.total) for p in seen] == [(0, 12), (5, 12), (10, 12), (12, 12)]  # per batch
        assert (run.total, run.reprocessed) == (12, 10)
        assert [r.filename for r in run.failed] == [LATER[2], broken]
        assert not run.ok
        assert f"partner round: {broken}: line 1" in run.failed[0].line()
        assert "NOT reprocessed: the content does not import" in run.failed[1].line()
        assert seen[-1].failed == 2
        left = await versions(db)
        assert (left.pop(LATER[2]), left.pop(broken)) == (PARSER_VERSION - 1,) * 2  # still stale, unchanged
        assert set(left.values()) == {PARSER_VERSION}
        again = await reprocess_stale(db, world.settings, batch=5)
        assert (again.total, again.reprocessed, len(again.failed)) == (2, 0, 2)
