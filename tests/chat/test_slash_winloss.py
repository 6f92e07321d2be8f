"""W/L through the real command tree: /stats shows a player's maps won/lost, /leaderboard ranks win rate.

Expected records are read from the samples (tests/db/test_session_teams_real.py expectations): wjs
(FDA127DF) won 2 and lost 5 decided maps.
"""

from __future__ import annotations

from bot.chat.client import StatsBot
from bot.db import player_boards, session_teams
from bot.db.connection import Database
from tests.chat.test_slash_players import table_lines
from tests.chat.test_slash_public import answer, followups
from tests.db.test_player_results_real import expected_records
from tests.db.test_session_teams_real import WJS
from tests.helpers.fake_discord import FakeDiscord
from tests.helpers.interactions import dispatch, option, payload


async def _derive_all(db: Database) -> None:
    for row in await db.fetchall("SELECT id FROM sessions ORDER BY started_at"):
        await session_teams.derive(db, int(row[0]))


def _fields(fake: FakeDiscord) -> dict[str, str]:
    embed = followups(fake)[-1].json["embeds"][0]
    return {f["name"]: f["value"] for f in embed["fields"]}


async def test_stats_shows_maps_won_and_lost_of_summarised_sessions(
    bot_with_data: StatsBot, fake: FakeDiscord, db: Database
) -> None:
    await db.execute("UPDATE sessions SET derived = 0")  # nothing summarised yet
    await dispatch(bot_with_data, payload("stats", [option("player", WJS)]))
    assert _fields(fake)["Maps won / lost"] == "no decided map yet"
    await _derive_all(db)
    await dispatch(bot_with_data, payload("stats", [option("player", WJS)], user_id=7))
    assert _fields(fake)["Maps won / lost"] == "2W 5L · 29%"


async def test_win_rate_board_counts_maps(bot_with_data: StatsBot, fake: FakeDiscord, db: Database) -> None:
    await _derive_all(db)
    await dispatch(
        bot_with_data,
        payload(
            "leaderboard", [option("metric", "winrate"), option("period", "all"), option("min_rounds", 5, 4)]
        ),
    )
    embed = answer(fake)["embeds"][0]
    assert embed["title"] == "Leaderboard · Win rate % (maps)"
    assert "at least 5 maps ·" in embed["description"]
    want = sorted(
        (
            (100.0 * w / (w + lo + d), w + lo + d, k)
            for k, (w, lo, d) in expected_records().items()
            if w + lo + d >= 5
        ),
        key=lambda r: (-r[0], -r[1], r[2]),
    )
    assert f"{len(want)} players" in embed["description"]
    lines = table_lines(embed)
    assert lines[0].split() == ["Player", "Value", "Maps"]
    top = lines[1].split()
    assert (top[-2], top[-1]) == (f"{want[0][0]:.1f}", str(want[0][1]))
    assert all(len(line) <= 40 for line in lines)
    board = await player_boards.board(db.reads, "winrate", min_rounds=5, limit=100)
    assert [(r.key, r.rounds) for r in board.rows] == [(k, n) for _, n, k in want]
    week = await player_boards.board(db.reads, "winrate", since_day="2025-10-20", min_rounds=1, limit=100)
    assert {r.key for r in week.rows} >= {WJS}  # et_brewdog, 2025-10-28: lost
    assert next(r.value for r in week.rows if r.key == WJS) == 0.0


async def test_default_win_rate_minimum_is_in_maps(bot_with_data: StatsBot, fake: FakeDiscord) -> None:
    await dispatch(
        bot_with_data, payload("leaderboard", [option("metric", "winrate"), option("period", "all")])
    )
    embed = answer(fake)["embeds"][0]
    assert f"at least {player_boards.MAPS_MINIMUM['all']} maps" in embed["description"]
