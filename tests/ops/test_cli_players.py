"""`statsbot player` and `statsbot leaderboard`: the slash commands' queries for scripts (JSON contract)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.db import player_boards, player_lookup
from tests.helpers.ops import EVENING, LATER, World, cli, write_config


async def test_player_json_by_an_old_coloured_name(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await world.import_(EVENING + LATER)
    config = str(write_config(world, tmp_path / "statsbot.toml"))
    top = (await player_boards.board(world.db.reads, "rounds", limit=1)).rows[0]
    player = await player_lookup.get_player(world.db.reads, top.key)
    assert player is not None
    capsys.readouterr()
    typed = f"^1{player.name.upper()}"  # colour codes and case are ignored
    assert await cli(["--config", config, "player", typed, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"player", "period", "since_day", "totals", "aliases", "top_weapons", "maps",
                         "linked_members"}  # fmt: skip
    assert data["player"]["key"] == top.key
    assert data["player"]["rounds"] == top.rounds
    totals = await player_boards.totals(world.db.reads, top.key)
    assert totals is not None
    assert data["totals"]["kills"] == totals.kills
    assert data["totals"]["kd"] == round(totals.kd, 3)
    assert sum(m["rounds"] for m in data["maps"]) == top.rounds
    assert await cli(["--config", config, "player", "nobody at all"]) == 1
    assert "no player called 'nobody at all'" in capsys.readouterr().err


async def test_leaderboard_json_matches_the_slash_command_query(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await world.import_(EVENING + LATER)
    config = str(write_config(world, tmp_path / "statsbot.toml"))
    capsys.readouterr()
    assert await cli(["--config", config, "leaderboard", "kd", "--min-rounds", "2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    board = await player_boards.board(world.db.reads, "kd", min_rounds=2)
    assert data["metric"] == "kd"
    assert data["min_rounds"] == 2
    assert data["qualifying"] == board.qualifying
    assert [(r["rank"], r["key"], r["value"]) for r in data["rows"]] == [
        (r.rank, r.key, r.value) for r in board.rows
    ]
    assert await cli(["--config", config, "leaderboard", "kd"]) == 0
    assert "at least 100 rounds" in capsys.readouterr().out  # a ratio board's default minimum
    assert await cli(["--config", config, "leaderboard", "nonsense"]) == 2
