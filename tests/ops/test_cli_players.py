"""`statsbot player` and `statsbot leaderboard`: the slash commands' queries for scripts (JSON contract)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.db import player_boards, player_lookup, session_teams
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
                         "record", "linked_members"}  # fmt: skip
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


async def test_player_record_and_win_rate_board_once_sessions_are_summarised(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await world.import_(EVENING + LATER)
    config = str(write_config(world, tmp_path / "statsbot.toml"))
    await world.db.execute("UPDATE sessions SET derived = 0")
    top = (await player_boards.board(world.db.reads, "rounds", limit=1)).rows[0]
    capsys.readouterr()
    assert await cli(["--config", config, "player", top.key, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["record"] is None  # nothing summarised yet
    for row in await world.db.fetchall("SELECT id FROM sessions"):
        await session_teams.derive(world.db, int(row[0]))
    record = await player_boards.win_loss(world.db.reads, top.key)
    assert record is not None
    assert record.maps > 0
    assert await cli(["--config", config, "player", top.key, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)["record"]
    assert got == {"won": record.won, "lost": record.lost, "drawn": record.drawn, "maps": record.maps,
                   "win_rate": round(record.win_rate or 0, 2)}  # fmt: skip
    assert await cli(["--config", config, "leaderboard", "winrate", "--min-rounds", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    board = await player_boards.board(world.db.reads, "winrate", min_rounds=1)
    assert data["qualifying"] == board.qualifying > 0
    assert [(r["key"], r["rounds"], r["value"]) for r in data["rows"]] == [
        (r.key, r.rounds, r.value) for r in board.rows
    ]
    assert await cli(["--config", config, "leaderboard", "winrate"]) == 0
    assert "at least 20 maps" in capsys.readouterr().out
