"""chat_queries over the real samples imported by the real importer; commands agree with the auto-posts."""

from __future__ import annotations

import time
from pathlib import Path

from bot.chat import views
from bot.chat.embeds import post_embed
from bot.chat.sinks import Post
from bot.db import chat_queries, outbox
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
    everyone = await chat_queries.search_players(db, "")
    assert len(everyone) > 5
    assert await chat_queries.search_players(db, "%") == []  # a literal %, not "anything"
    underscored = await chat_queries.search_players(db, "_")
    assert 0 < len(underscored) < len(everyone)  # a literal _, not "any one character"
    assert all("_" in name for _, name in underscored)
    assert all(guid != "OMNIBOT0" for guid, _ in everyone)
    guid, name = everyone[0]
    assert await chat_queries.find_player(db, name.upper()) == (guid, name)
    assert await chat_queries.find_player(db, guid) == (guid, name)
    assert await chat_queries.find_player(db, "nobody at all") is None


async def test_leaderboard_respects_minimum_rounds_and_period(db: Database, samples_dir: Path) -> None:
    await import_samples(db, samples_dir)
    rows = await chat_queries.leaderboard(db, "kd", min_rounds=10, limit=50)
    assert rows
    assert all(r.rounds >= 10 for r in rows)
    values = [r.value for r in rows]
    assert values == sorted(values, reverse=True)  # type: ignore[type-var]
    top = rows[0]
    totals = await chat_queries.player_totals(db, top.guid)
    assert totals is not None
    assert round(totals.kills / max(totals.deaths, 1), 6) == round(float(top.value or 0), 6)
    assert await chat_queries.leaderboard(db, "kills", since="2025-11-02 00:00:00", min_rounds=1)
    assert await chat_queries.leaderboard(db, "kills", since="2099-01-01 00:00:00") == []


async def test_player_rounds_are_oldest_first_and_limited(db: Database, samples_dir: Path) -> None:
    await import_samples(db, samples_dir)
    guid, _ = (await chat_queries.search_players(db, ""))[0]
    recent = await chat_queries.player_rounds(db, guid, limit=5)
    assert len(recent) == 5
    assert [r.played_at for r in recent] == sorted(r.played_at for r in recent)
