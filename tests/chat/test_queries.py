"""chat_queries over the real samples imported by the real importer; commands agree with the auto-posts."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bot.chat import views
from bot.chat.embeds import post_embed
from bot.chat.sinks import Post
from bot.db import chat_queries, outbox, player_boards, player_lookup, records
from bot.db.connection import Database
from bot.db.dialect import to_postgresql
from bot.stats.matching import (
    PREFIX,
    SUBSEQUENCE,
    SUBSTRING,
    best_matches,
    is_subsequence,
    match_rank,
    normalise,
)
from tests.helpers.chat import import_samples


class _Tie(Exception):
    pass


@pytest.mark.usefixtures("with_samples")  # the real samples, in `db`
async def test_last_round_view_matches_the_auto_post(db: Database) -> None:
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


@pytest.mark.usefixtures("with_samples")  # the real samples, in `db`
async def test_lookup_by_old_names_case_and_colour_codes(db: Database) -> None:
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


@pytest.mark.usefixtures("with_samples")  # the real samples, in `db`
async def test_autocomplete_prefix_old_name_colour_code_and_letters_in_order(db: Database) -> None:
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


@pytest.mark.usefixtures("with_samples")  # the real samples, in `db`
async def test_leaderboard_minimum_pages_and_own_rank(db: Database) -> None:
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


@pytest.mark.usefixtures("with_samples")  # the real samples, in `db`
async def test_period_totals_are_the_days_since(db: Database) -> None:
    olz = await player_lookup.find_player(db.reads, ".olz")
    assert olz is not None
    days = await player_boards.days(db.reads, olz.key, limit=1000)
    since = days[len(days) // 2].day
    period = await player_boards.totals(db.reads, olz.key, since_day=since)
    assert period is not None
    assert period.kills == sum(d.totals.kills for d in days if d.day >= since)
    assert period.rounds < olz.rounds


@pytest.mark.usefixtures("with_samples")  # the real samples, in `db`
async def test_autocomplete_equals_a_full_read_of_every_alias(db: Database) -> None:
    """The index walks (bot.db.player_lookup) give what reading every alias in Python gives: prefix
    matches, then text inside a name while fewer than 25 players, then letters in order while fewer than
    FUZZY_BELOW; each pass the CANDIDATES most played aliases; then ranked by bot.stats.matching."""
    rows = [
        (str(r[0]), str(r[1]), int(r[2]))
        for r in await db.fetchall("SELECT player_key, alias, rounds FROM player_aliases")
    ]
    by_rounds = sorted(rows, key=lambda r: -r[2])

    def most_played(match: Callable[[str], bool]) -> list[tuple[str, str, int]]:
        hits = [r for r in by_rounds if match(r[1])]
        cut = player_lookup.CANDIDATES
        if len(hits) > cut and hits[cut - 1][2] == hits[cut][2]:
            raise _Tie  # which of the tied aliases make the cut is not specified
        return hits[:cut]

    def expected(query: str) -> list[tuple[str, str, int]]:
        found = most_played(lambda a: a.startswith(query))
        if len({k for k, _, _ in found}) < 25:
            found += most_played(lambda a: a.find(query) > 0)
            if len({k for k, _, _ in found}) < player_lookup.FUZZY_BELOW:
                found += most_played(lambda a: is_subsequence(query, a))
        humans = [r for r in found if not r[0].startswith("OMNIBOT0:")]
        return best_matches(query, humans, 25, normalised=True)

    typed = set()
    for _, alias, _ in rows:
        typed |= {alias[:1], alias[:2], alias[:4], alias[1:4], alias[2:4], alias[::2][:5], alias[1::3][:3]}
    compared, kinds = 0, set()
    for text in sorted(t for t in typed if t.strip()):
        query = normalise(text)
        try:
            want = expected(query)
        except _Tie:
            continue
        got = await player_lookup.search(db.reads, text)
        assert [(s.key, s.rounds) for s in got] == [(key, rounds) for key, _, rounds in want], text
        compared += 1
        kinds |= {match_rank(query, alias) for _, alias, _ in want}
    assert compared > 0.9 * len(typed)
    assert {PREFIX, SUBSTRING, SUBSEQUENCE} <= kinds  # every pass was needed somewhere


def test_letters_in_order_walk_is_a_plain_like_on_postgresql() -> None:
    """The walk tests every alias when few match: ILIKE (the default rewrite of LIKE) folded the case of
    each one on PostgreSQL (~20x slower over 13,608 aliases); the aliases are lower case already."""
    sent = to_postgresql(player_lookup._WALK.format(player_lookup.IN_ORDER))
    assert " LIKE %s ESCAPE" in sent
    assert "ILIKE" not in sent


async def test_records_of_one_map_equal_a_full_read(db: Database, samples_dir: Path) -> None:
    """/records map:X (a walk of the map's best rounds, round_bests of migration 0013) lists what sorting
    every counted human row of that map gives, for every map: most kills and best DPM (>= 5 minutes),
    the three best with ties cut by round id then player key, shown best first, then earliest."""
    await import_samples(db, samples_dir)
    rows = await db.fetchall(
        "SELECT r.map, p.round_id, p.player_key, p.kills, p.damage_given, p.time_played_min, r.played_at "
        "FROM player_stats p JOIN rounds r ON r.id = p.round_id "
        "WHERE r.status IN ('r1', 'paired') AND p.guid != 'OMNIBOT0'"
    )

    def dpm(r: Any) -> float | None:
        minutes, damage = r[5], r[4]
        ok = minutes is not None and minutes >= records.MIN_DPM_MINUTES and damage is not None and damage > 0
        return float(damage) / float(minutes) if ok else None

    def expected(map_name: str, value: Callable[[Any], float | None]) -> list[tuple[float, str, str]]:
        hits = [
            (float(v), int(r[1]), str(r[2]), str(r[6])) for r in rows if r[0] == map_name if (v := value(r))
        ]
        best = sorted(hits, key=lambda h: (-h[0], h[1], h[2]))[:3]
        return [(v, key, at) for v, _, key, at in sorted(best, key=lambda h: (-h[0], h[3], h[2]))]

    maps = sorted({str(r[0]) for r in rows})
    per_map = {m: sum(r[0] == m for r in rows) for m in maps}
    assert len(maps) >= 5
    assert min(per_map.values()) <= 12 < max(per_map.values())  # a map of one round, and busy ones
    for m in maps:
        kills = await db.reads.call(partial(records.most_kills_sync, map_name=m))
        best_dpm = await db.reads.call(partial(records.best_dpm_sync, map_name=m))
        assert [(k.value, k.key, k.played_at) for k in kills] == expected(m, lambda r: r[3]), m
        assert [(round(d.value, 9), d.key, d.played_at) for d in best_dpm] == [
            (round(v, 9), key, at) for v, key, at in expected(m, dpm)
        ], m
        assert all(k.map == m for k in kills + best_dpm)
    assert await db.reads.call(partial(records.most_kills_sync, map_name="no_such_map")) == []
