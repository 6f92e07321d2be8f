"""/leaderboard, /compare, /whois, /maps, /records and the admin autocompletes, through the real tree."""

from __future__ import annotations

from bot.chat.client import StatsBot
from bot.db import chat_queries, player_boards, player_lookup
from bot.db.connection import Database
from tests.chat.test_slash_public import answer, callbacks, followups
from tests.helpers.fake_discord import FakeDiscord
from tests.helpers.interactions import MEMBER_ID, button, dispatch, option, payload


def table_lines(embed: dict[str, object], field: int = 0) -> list[str]:
    value = embed["fields"][field]["value"]  # type: ignore[index]
    return [line for line in str(value).splitlines() if not line.startswith("```")]


async def test_leaderboard_pages_and_your_rank(
    bot_with_data: StatsBot, fake: FakeDiscord, db: Database
) -> None:
    board = await player_boards.board(db.reads, "kills", limit=100)
    assert board.qualifying > 20
    mine = board.rows[14]
    await chat_queries.link_member(db, MEMBER_ID, mine.key, now=0)
    await dispatch(bot_with_data, payload("leaderboard", [option("metric", "kills")]))
    data = answer(fake)
    embed = data["embeds"][0]
    assert embed["title"] == "Leaderboard · Kills"
    pages = -(-board.qualifying // 10)
    assert embed["fields"][0]["name"] == f"Page 1 of {pages}"
    lines = table_lines(embed)
    assert lines[0].split() == ["Player", "Value", "Rnds"]
    assert lines[1].startswith(f" 1. {board.rows[0].name}")
    assert all(len(line) <= 40 for line in lines)  # reads on a phone
    assert embed["fields"][1] == {
        "name": "Your rank",
        "value": f"#15 of {board.qualifying} · {round(mine.value or 0)}",
        "inline": False,
    }
    ids = [c["custom_id"] for c in data["components"][0]["components"]]
    assert ids == ["leaderboard:previous", "leaderboard:next"]
    await dispatch(bot_with_data, button("leaderboard:next"))
    update = callbacks(fake)[-1].json
    assert update["type"] == 7
    page2 = update["data"]["embeds"][0]
    assert page2["fields"][0]["name"] == f"Page 2 of {pages}"
    assert table_lines(page2)[1].startswith(f"11. {board.rows[10].name}"[:26])


async def test_ratio_boards_have_a_sensible_minimum(bot_with_data: StatsBot, fake: FakeDiscord) -> None:
    await dispatch(bot_with_data, payload("leaderboard", [option("metric", "kd"), option("period", "all")]))
    embed = answer(fake)["embeds"][0]
    assert f"at least {player_boards.RATIO_MINIMUM['all']} rounds" in embed["description"]
    assert "Nobody qualifies yet." in embed["description"]  # the samples have at most 40 rounds a player
    await dispatch(
        bot_with_data, payload("leaderboard", [option("metric", "kd"), option("min_rounds", 1, 4)], user_id=5)
    )
    embed = answer(fake)["embeds"][0]
    assert "at least 1 round ·" in embed["description"]  # singular


async def test_compare_two_players_with_a_chart(bot_with_data: StatsBot, fake: FakeDiscord) -> None:
    await dispatch(bot_with_data, payload("compare", [option("player1", ".olz"), option("player2", "vid")]))
    follow = followups(fake)[-1]
    embed = follow.json["embeds"][0]
    assert embed["title"] == ".olz vs vid"
    lines = table_lines(embed)
    assert lines[0].split() == [".olz", "vid"]
    assert lines[1].split()[0] == "Rounds"
    assert follow.files[0][1] == "form.png"


async def test_compare_a_player_with_himself_is_refused(bot_with_data: StatsBot, fake: FakeDiscord) -> None:
    await dispatch(
        bot_with_data, payload("compare", [option("player1", ".olz"), option("player2", ".chupakabra")])
    )
    assert answer(fake)["content"] == "Pick two different players."


async def test_whois_shows_names_and_linked_member(
    bot_with_data: StatsBot, fake: FakeDiscord, db: Database
) -> None:
    olz = await player_lookup.find_player(db.reads, ".olz")
    assert olz is not None
    await chat_queries.link_member(db, 88, olz.key, now=0)
    await dispatch(bot_with_data, payload("whois", [option("player", "slomix.olz")]))
    embed = answer(fake)["embeds"][0]
    assert embed["title"] == ".olz"
    assert embed["description"] == "40 rounds · first seen 2024-04-16 · last seen 2025-11-11"
    names = "\n".join(table_lines(embed))
    assert ".chupakabra" in names
    assert "slomix.olz" in names
    assert embed["fields"][-1]["value"] == "<@88>"


async def test_maps_of_a_player_of_a_map_and_of_all(bot_with_data: StatsBot, fake: FakeDiscord) -> None:
    await dispatch(bot_with_data, payload("maps", [option("player", ".olz")]))
    embed = answer(fake)["embeds"][0]
    assert embed["title"] == ".olz · maps"
    assert table_lines(embed)[1].startswith("te_escape2")
    await dispatch(bot_with_data, payload("maps", [option("map", "SUPPLY")]))
    embed = answer(fake)["embeds"][0]
    assert embed["title"] == "supply"
    assert embed["description"].startswith("12 rounds · average ")
    await dispatch(bot_with_data, payload("maps"))
    embed = answer(fake)["embeds"][0]
    assert table_lines(embed)[1].startswith("supply")
    await dispatch(bot_with_data, payload("maps", [option("map", "nowhere")]))
    assert answer(fake)["content"] == "No round was played on 'nowhere'."


async def test_records(bot_with_data: StatsBot, fake: FakeDiscord) -> None:
    await dispatch(bot_with_data, payload("records"))
    embed = answer(fake)["embeds"][0]
    assert embed["title"] == "Records · all maps"
    names = [f["name"] for f in embed["fields"]]
    assert names == ["Most kills in a round", "Best DPM (5+ minutes)", "Fastest objective"]
    assert table_lines(embed)[1].split() == ["35", "MaccabrosNoaZzzzZz"]
    assert table_lines(embed)[2].split() == ["supply", "·", "2025-10-25"]
    await dispatch(bot_with_data, payload("records", [option("map", "frostbite")]))
    embed = answer(fake)["embeds"][0]
    assert embed["title"] == "Records · frostbite"
    assert table_lines(embed, 2)[1].split()[:2] == ["frostbite", "1:21"]


async def test_map_autocomplete(bot_with_data: StatsBot, fake: FakeDiscord) -> None:
    await dispatch(bot_with_data, payload("records", [option("map", "ad", focused=True)], kind=4))
    names = [c["name"] for c in callbacks(fake)[-1].json["data"]["choices"]]
    assert names
    assert all("ad" in n for n in names)
