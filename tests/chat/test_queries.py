"""chat_queries over the real samples imported by the real importer; commands agree with the auto-posts."""

from __future__ import annotations

import time
from pathlib import Path

from bot.chat import views
from bot.chat.embeds import post_embed
from bot.chat.sinks import Post
from bot.db import chat_queries, outbox, player_boards, player_lookup
from bot.db.connection import Database
from tests.helpers.chat import import_samples


async def test_last_round_view_matches_the_auto_post(db: Database, samples_dir: Path) -> None:
    await import_samples(db, samples_dir)
    found = await chat_queries.last_round(db)
    assert found is not None
    round_row, players = found
    posts = [r for r in await outbox.due(db, now=time.time() + 1, limit=1000) if r.kind == "round"]
    post = next(r for r in posts if r.payload["filename"] == round_row["filename"])
    from_post = post_embed(Post.from_row(post))
    from_query = views.round_view(round_row, players)
    assert [f.value for f in from_query.fields] == [f.value for f in from_post.fields]
    assert from_query.description == from_post.description


async def test_player_search_escapes_like_wildcards(db: Database, samples_dir: Path) -> None:
    await import_samples(db, samples_dir, limit=6)
    everyone = await player_lookup.search(db.reads, "")
    assert everyone
    assert await player_lookup.search(db.reads, "%") == []  # a literal %, not "anything"
    assert all("_" in s.alias for s in await player_lookup.search(db.reads, "_"))


async def test_lookup_by_old_names_case_and_colour_codes(db: Database, samples_dir: Path) -> None:
    await import_samples(db, samples_dir)
    # .olz played as ".chupakabra" once in 2024, then as ".olz" / "slomix.olz": every name finds him.
    now = await player_lookup.find_player(db.reads, ".olz")
    assert now is not None
    assert now.name == ".olz"
    for typed in (
        ".chupakabra",
        ".CHUPAKABRA",
        "^1.^7chupa^3kabra",
        "  slomix.olz ",
        now.key,
        now.key.lower(),
    ):
        found = await player_lookup.find_player(db.reads, typed)
        assert found is not None, typed
        assert found.key == now.key, typed
    assert await player_lookup.find_player(db.reads, "nobody at all") is None
    names = [a.name for a in await player_lookup.aliases(db.reads, now.key)]
    assert names[0] == ".olz"
    assert {".chupakabra", "slomix.olz"} <= set(names)


async def test_autocomplete_prefix_old_name_colour_code_and_letters_in_order(
    db: Database, samples_dir: Path
) -> None:
    await import_samples(db, samples_dir)
    olz = await player_lookup.find_player(db.reads, ".olz")
    assert olz is not None

    async def keys(text: str) -> list[str]:
        return [s.key for s in await player_lookup.search(db.reads, text)]

    assert olz.key in await keys(".chu")  # an old name's prefix
    assert olz.key in await keys("^1.^2chu")  # colour codes typed in are ignored
    assert olz.key in await keys("CHUPA")  # case
    assert olz.key in await keys("kabra")  # inside the name
    assert olz.key in await keys("chpkbr")  # letters in order ("fuzzy")
    [first] = (await player_lookup.search(db.reads, ".chupakabra"))[:1]
    assert first.key == olz.key
    assert first.name == ".olz"
    assert first.alias == ".chupakabra"  # shown as ".olz (aka .chupakabra)"


async def test_leaderboard_minimum_pages_and_own_rank(db: Database, samples_dir: Path) -> None:
    await import_samples(db, samples_dir)
    full = await player_boards.board(db.reads, "kd", min_rounds=10, limit=50)
    assert full.rows
    values = [r.value for r in full.rows]
    assert values == sorted(values, reverse=True)
    assert all(r.rounds >= 10 for r in full.rows)
    assert [r.rank for r in full.rows] == list(range(1, len(full.rows) + 1))
    assert full.qualifying == len(full.rows)
    top = full.rows[0]
    totals = await player_boards.totals(db.reads, top.key)
    assert totals is not None
    assert top.value == totals.kd
    page2 = await player_boards.board(db.reads, "kd", min_rounds=10, offset=2, limit=2, own_key=top.key)
    assert [r.rank for r in page2.rows] == [3, 4]
    assert page2.own is not None
    assert page2.own.rank == 1  # "your rank" although not on this page
    assert await player_boards.board(db.reads, "kills", since_day="2025-11-02")
    assert (await player_boards.board(db.reads, "kills", since_day="2099-01-01")).rows == []


async def test_period_totals_are_the_days_since(db: Database, samples_dir: Path) -> None:
    await import_samples(db, samples_dir)
    olz = await player_lookup.find_player(db.reads, ".olz")
    assert olz is not None
    days = await player_boards.days(db.reads, olz.key, limit=1000)
    since = days[len(days) // 2].day
    period = await player_boards.totals(db.reads, olz.key, since_day=since)
    assert period is not None
    assert period.kills == sum(d.totals.kills for d in days if d.day >= since)
    assert period.rounds < olz.rounds
