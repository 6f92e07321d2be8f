"""Public slash commands end to end: INTERACTION_CREATE → command tree → real HTTP to the fake server."""

from __future__ import annotations

from typing import Any

import discord

from bot.chat.client import StatsBot
from bot.db import chat_queries, player_boards, player_lookup
from bot.db.connection import Database
from tests.helpers.fake_discord import ADMIN_ROLE, FakeDiscord, Recorded
from tests.helpers.interactions import MEMBER_ID, button, dispatch, option, payload


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


async def test_status_for_players_hides_admin_details(bot_with_data: StatsBot, fake: FakeDiscord) -> None:
    await dispatch(bot_with_data, payload("status"))
    embed = answer(fake)["embeds"][0]
    assert embed["title"] == "statsbot status"
    text = str(embed)
    for admin_words in ("backlog", "Backlog", "Files today", "Last poll"):
        assert admin_words not in text
    assert embed["color"] == discord.Colour.orange().value  # never polled: not green


async def test_status_for_admins_shows_backlog(bot_with_data: StatsBot, fake: FakeDiscord) -> None:
    await dispatch(bot_with_data, payload("status", roles=(ADMIN_ROLE,)))
    embed = answer(fake)["embeds"][0]
    assert embed["description"].startswith("Outbox backlog: ")
    assert (
        embed["description"].splitlines()[0].endswith(" posts")
    )  # the samples' posts are queued, not drained here


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
    assert data["content"] == "Unknown server 'nowhere'. Servers: none."
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


async def test_autocomplete_offers_names_with_player_keys(bot_with_data: StatsBot, fake: FakeDiscord) -> None:
    await dispatch(bot_with_data, payload("stats", [option("player", "a", focused=True)], kind=4))
    cb = callbacks(fake)[-1].json
    assert cb["type"] == 8
    choices = cb["data"]["choices"]
    assert 0 < len(choices) <= 25
    assert all("a" in c["name"].lower() for c in choices)


async def test_autocomplete_finds_an_old_name_typed_with_colour_codes(
    bot_with_data: StatsBot, fake: FakeDiscord, db: Database
) -> None:
    olz = await player_lookup.find_player(db.reads, ".olz")
    assert olz is not None
    await dispatch(bot_with_data, payload("stats", [option("player", "^1.^7chupa", focused=True)], kind=4))
    [first, *_] = callbacks(fake)[-1].json["data"]["choices"]
    assert first["value"] == olz.key
    assert first["name"].startswith(".olz (aka .chupakabra)")


async def test_stats_for_a_player_with_chart(
    bot_with_data: StatsBot, fake: FakeDiscord, db: Database
) -> None:
    olz = await player_lookup.find_player(db.reads, ".olz")
    assert olz is not None
    await dispatch(bot_with_data, payload("stats", [option("player", ".chupakabra")]))  # an old name
    assert callbacks(fake)[-1].json["type"] == 5  # deferred while the chart renders
    follow = followups(fake)[-1]
    embed = follow.json["embeds"][0]
    assert embed["title"] == ".olz"
    assert "also known as: slomix.olz, .chupakabra" in embed["description"]
    assert embed["image"]["url"] == "attachment://form.png"
    assert follow.files[0][1] == "form.png"
    assert follow.files[0][2] > 1000  # a real PNG
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    totals = await player_boards.totals(db.reads, olz.key)
    assert totals is not None
    assert fields["Kills"] == f"{totals.kills:,}"
    assert fields["Rounds"] == str(olz.rounds)
    assert "thompson" in fields["Top weapons"]
    assert fields["Favourite maps"].startswith("te_escape2 (10)")
    assert "Recent form (K/D by day)" in fields


async def test_stats_below_three_days_played_is_a_card_without_chart(
    bot_with_data: StatsBot, fake: FakeDiscord, db: Database
) -> None:
    # blAuss:X (8C49608C) has one counted round in the samples (his other file is an orphan round 2).
    await dispatch(bot_with_data, payload("stats", [option("player", "8C49608C")]))
    follow = followups(fake)[-1]
    embed = follow.json["embeds"][0]
    assert "image" not in embed
    assert not follow.files
    assert {f["name"]: f["value"] for f in embed["fields"]}["Rounds"] == "1"


async def test_stats_twice_in_a_row_is_told_to_slow_down(bot_with_data: StatsBot, fake: FakeDiscord) -> None:
    await dispatch(bot_with_data, payload("stats", [option("player", ".olz")]))
    assert followups(fake)[-1].json["embeds"][0]["title"] == ".olz"
    charts = len(followups(fake))
    await dispatch(bot_with_data, payload("stats", [option("player", ".olz")]))
    data = answer(fake)
    assert data["content"].startswith("Slow down: try again in ")
    assert data["flags"] & 64
    assert len(followups(fake)) == charts  # no second chart rendered
    await dispatch(bot_with_data, payload("stats", [option("player", ".olz")], user_id=78))  # someone else
    assert len(followups(fake)) == charts + 1


async def test_link_confirm_then_stats_without_a_name_then_unlink(
    bot_with_data: StatsBot, fake: FakeDiscord, db: Database
) -> None:
    olz = await player_lookup.find_player(db.reads, ".olz")
    assert olz is not None
    await dispatch(bot_with_data, payload("link", [option("player", "slomix.olz")]))
    data = answer(fake)
    assert data["flags"] & 64
    assert data["content"].startswith("Link your account to **.olz**?")
    assert "Names: .olz, slomix.olz, .chupakabra" in data["content"]
    assert "last seen 2025-11-11" in data["content"]
    assert [c["custom_id"] for c in data["components"][0]["components"]] == ["link:confirm", "link:cancel"]
    assert await chat_queries.linked_guid(db, MEMBER_ID) is None  # nothing written before the button
    await dispatch(bot_with_data, button("link:confirm"))
    update = callbacks(fake)[-1].json
    assert update["type"] == 7  # the prompt is replaced
    assert update["data"]["content"] == "Linked you to **.olz**. `/stats` now shows your numbers."
    assert await chat_queries.linked_guid(db, MEMBER_ID) == olz.key
    await dispatch(bot_with_data, payload("stats"))
    assert followups(fake)[-1].json["embeds"][0]["title"] == ".olz"
    await dispatch(bot_with_data, payload("unlink"))
    assert answer(fake)["content"] == "Unlinked."
    await dispatch(bot_with_data, payload("stats", user_id=MEMBER_ID + 100))
    assert "not linked" in answer(fake)["content"]


async def test_link_of_a_player_claimed_by_another_member_is_refused(
    bot_with_data: StatsBot, fake: FakeDiscord, db: Database
) -> None:
    olz = await player_lookup.find_player(db.reads, ".olz")
    assert olz is not None
    await chat_queries.link_member(db, 88, olz.key, now=0)  # bob linked himself earlier
    await dispatch(bot_with_data, payload("link", [option("player", ".olz")]))
    data = answer(fake)
    assert data["content"] == "**.olz** is already linked to another member. If this is you, ask an admin."
    assert data["flags"] & 64
    assert await chat_queries.linked_guid(db, MEMBER_ID) is None
    assert await chat_queries.linked_guid(db, 88) == olz.key


async def test_admin_links_a_member_to_a_claimed_player_after_confirming(
    bot_with_data: StatsBot, fake: FakeDiscord, db: Database
) -> None:
    olz = await player_lookup.find_player(db.reads, ".olz")
    assert olz is not None
    await chat_queries.link_member(db, 88, olz.key, now=0)
    member, resolved = _member_option(89, "carol")
    await dispatch(
        bot_with_data,
        payload("link", [option("player", ".olz"), member], resolved=resolved, roles=(ADMIN_ROLE,)),
    )
    prompt = answer(fake)["content"]
    assert prompt.startswith("Link <@89> to **.olz**?")
    assert "Now linked to <@88> (they will be unlinked)." in prompt
    await dispatch(bot_with_data, button("link:confirm", roles=(ADMIN_ROLE,)))
    assert callbacks(fake)[-1].json["data"]["content"] == "Linked <@89> to **.olz**. (<@88> unlinked.)"
    assert await chat_queries.linked_guid(db, 89) == olz.key
    assert await chat_queries.linked_guid(db, 88) is None


async def test_linking_another_member_is_for_admins(
    bot_with_data: StatsBot, fake: FakeDiscord, db: Database
) -> None:
    member, resolved = _member_option(89, "carol")
    await dispatch(bot_with_data, payload("link", [option("player", ".olz"), member], resolved=resolved))
    assert answer(fake)["content"] == "This command is for admins only."
    assert await chat_queries.linked_guid(db, 89) is None


async def test_only_the_caller_may_press_the_confirm_button(
    bot_with_data: StatsBot, fake: FakeDiscord, db: Database
) -> None:
    await dispatch(bot_with_data, payload("link", [option("player", ".olz")]))
    await dispatch(bot_with_data, button("link:confirm", user_id=99))
    assert answer(fake)["content"] == "Run the command yourself to use these buttons."
    assert await chat_queries.linked_guid(db, 99) is None
    assert await chat_queries.linked_guid(db, MEMBER_ID) is None


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
    olz = await player_lookup.find_player(db.reads, ".olz")
    assert olz is not None
    await chat_queries.link_member(db, 88, olz.key, now=0)  # bob linked himself earlier
    member, resolved = _member_option(88, "bob")
    await dispatch(bot_with_data, payload("stats", [member], resolved=resolved))
    assert followups(fake)[-1].json["embeds"][0]["title"] == ".olz"
    assert await chat_queries.linked_guid(db, MEMBER_ID) is None  # the caller's own link is not involved


async def test_stats_of_a_member_who_is_not_linked_says_who(
    bot_with_data: StatsBot, fake: FakeDiscord
) -> None:
    member, resolved = _member_option(89, "carol")
    await dispatch(bot_with_data, payload("stats", [member], resolved=resolved))
    reply = callbacks(fake)[-1].json
    assert reply["data"]["flags"] & 64  # ephemeral: only the caller sees it
    assert "carol is not linked to a player" in reply["data"]["content"]
