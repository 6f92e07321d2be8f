"""Public slash commands end to end: INTERACTION_CREATE → command tree → real HTTP to the fake server."""

from __future__ import annotations

from typing import Any

from bot.chat.client import StatsBot
from bot.db import chat_queries
from bot.db.connection import Database
from tests.helpers.fake_discord import FakeDiscord, Recorded
from tests.helpers.interactions import MEMBER_ID, dispatch, option, payload


def callbacks(fake: FakeDiscord) -> list[Recorded]:
    return [r for r in fake.requests if r.path.endswith("/callback")]


def followups(fake: FakeDiscord) -> list[Recorded]:
    return [r for r in fake.requests if r.method == "POST" and r.path.startswith("/webhooks/")]


def answer(fake: FakeDiscord) -> dict[str, Any]:
    """The message the user saw: the callback's data, or the follow-up after a deferral."""
    cb = callbacks(fake)[-1].json
    if cb["type"] == 5:
        return dict(followups(fake)[-1].json)
    return dict(cb["data"])


async def test_status_shows_backlog(bot_with_data: StatsBot, fake: FakeDiscord) -> None:
    await dispatch(bot_with_data, payload("status"))
    embed = answer(fake)["embeds"][0]
    assert embed["title"] == "statsbot status"
    assert embed["description"].startswith("Outbox backlog: ")
    assert int(embed["description"].split()[2]) > 0  # the samples' posts are queued, not drained here


async def test_last_round_is_the_newest_round(bot_with_data: StatsBot, fake: FakeDiscord) -> None:
    await dispatch(bot_with_data, payload("last_round"))
    data = answer(fake)
    assert not data.get("flags", 0) & 64  # public
    embed = data["embeds"][0]
    assert embed["title"] == "te_escape2 · round 2"
    assert "Round 2 numbers only." in embed["description"]
    assert embed["fields"][0]["value"].startswith("```\nPlayer")


async def test_last_round_of_an_unknown_server_says_so_privately(
    bot_with_data: StatsBot, fake: FakeDiscord
) -> None:
    await dispatch(bot_with_data, payload("last_round", [option("server", "nowhere")]))
    data = answer(fake)
    assert data["content"] == "No round has been imported yet."
    assert data["flags"] & 64


async def test_last_session(bot_with_data: StatsBot, fake: FakeDiscord) -> None:
    await dispatch(bot_with_data, payload("last_session"))
    embed = answer(fake)["embeds"][0]
    assert embed["author"]["name"].startswith("main · Session #")
    assert embed["title"].endswith("(in progress)")  # not summarised yet: the idle job has not run
    assert " – " in embed["title"]  # the score
    assert "te_escape2" in embed["description"]
    assert "beat" in embed["description"]  # the map's result, in team terms
    assert any("players" in f["name"] for f in embed["fields"])  # the rosters


async def test_autocomplete_offers_names_with_guid_values(bot_with_data: StatsBot, fake: FakeDiscord) -> None:
    await dispatch(bot_with_data, payload("stats", [option("player", "a", focused=True)], kind=4))
    cb = callbacks(fake)[-1].json
    assert cb["type"] == 8
    choices = cb["data"]["choices"]
    assert 0 < len(choices) <= 25
    assert all("a" in c["name"].lower() for c in choices)


async def test_stats_for_a_player_with_chart(
    bot_with_data: StatsBot, fake: FakeDiscord, db: Database
) -> None:
    guid, name = (await chat_queries.search_players(db, ""))[0]
    await dispatch(bot_with_data, payload("stats", [option("player", guid)]))
    assert callbacks(fake)[-1].json["type"] == 5  # deferred while the chart renders
    follow = followups(fake)[-1]
    embed = follow.json["embeds"][0]
    assert embed["title"] == name
    assert embed["image"]["url"] == "attachment://rounds.png"
    assert follow.files[0][1] == "rounds.png"
    assert follow.files[0][2] > 1000  # a real PNG
    kills = next(f["value"] for f in embed["fields"] if f["name"] == "Kills")
    totals = await chat_queries.player_totals(db, guid)
    assert totals is not None
    assert kills == str(totals.kills)


async def test_stats_below_three_rounds_is_a_card_without_chart(
    bot_with_data: StatsBot, fake: FakeDiscord, db: Database
) -> None:
    # blAuss:X (8C49608C) has one counted round in the samples (his other file is an orphan round 2).
    await dispatch(bot_with_data, payload("stats", [option("player", "8C49608C")]))
    follow = followups(fake)[-1]
    embed = follow.json["embeds"][0]
    assert "image" not in embed
    assert not follow.files
    assert embed["description"].startswith("1 round ·")


async def test_link_then_stats_without_a_name_then_unlink(
    bot_with_data: StatsBot, fake: FakeDiscord, db: Database
) -> None:
    guid, name = (await chat_queries.search_players(db, ""))[0]
    await dispatch(bot_with_data, payload("link", [option("player", name)]))
    assert name in answer(fake)["content"]
    assert await chat_queries.linked_guid(db, MEMBER_ID) == guid
    await dispatch(bot_with_data, payload("stats"))
    assert followups(fake)[-1].json["embeds"][0]["title"] == name
    await dispatch(bot_with_data, payload("unlink"))
    assert answer(fake)["content"] == "Unlinked."
    await dispatch(bot_with_data, payload("stats"))
    assert "not linked" in answer(fake)["content"]


def _member_option(user_id: int, username: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A USER option naming another guild member, and the `resolved` block Discord sends with it."""
    user = {"id": str(user_id), "username": username, "global_name": None, "discriminator": "0",
            "avatar": None, "bot": False}  # fmt: skip
    member = {"roles": [], "joined_at": "2025-01-01T00:00:00+00:00", "deaf": False, "mute": False,
              "flags": 0, "permissions": "0", "nick": None}  # fmt: skip
    resolved = {"users": {str(user_id): user}, "members": {str(user_id): member}}
    return option("member", str(user_id), kind=6), resolved


async def test_stats_of_another_linked_member(
    bot_with_data: StatsBot, fake: FakeDiscord, db: Database
) -> None:
    players = await chat_queries.search_players(db, "")
    guid, name = players[-1]
    await chat_queries.link_member(db, 88, guid, now=0)  # bob linked himself earlier
    member, resolved = _member_option(88, "bob")
    await dispatch(bot_with_data, payload("stats", [member], resolved=resolved))
    assert followups(fake)[-1].json["embeds"][0]["title"] == name
    assert await chat_queries.linked_guid(db, MEMBER_ID) is None  # the caller's own link is not involved


async def test_stats_of_a_member_who_is_not_linked_says_who(
    bot_with_data: StatsBot, fake: FakeDiscord
) -> None:
    member, resolved = _member_option(89, "carol")
    await dispatch(bot_with_data, payload("stats", [member], resolved=resolved))
    reply = callbacks(fake)[-1].json
    assert reply["data"]["flags"] & 64  # ephemeral: only the caller sees it
    assert "carol is not linked to a player" in reply["data"]["content"]


async def test_leaderboard_ranks_by_metric(bot_with_data: StatsBot, fake: FakeDiscord, db: Database) -> None:
    await dispatch(
        bot_with_data, payload("leaderboard", [option("metric", "kills"), option("min_rounds", 3, 4)])
    )
    embed = answer(fake)["embeds"][0]
    assert embed["title"] == "Leaderboard · Kills"
    table = embed["fields"][0]["value"]
    top = await chat_queries.leaderboard(db, "kills", min_rounds=3)
    assert f"1. {top[0].name}"[:20] in table
    values = [int(line.split()[-2]) for line in table.splitlines()[2:-1]]
    assert values == sorted(values, reverse=True)
    assert all(r.rounds >= 3 for r in top)
