"""Every post kind, built from the real samples by the real pipeline, fits Discord and a phone.

Checks Discord's embed limits, the ~40-column width of every monospace table line (phones wrap longer
lines and break the table), and that admin internals (flags, file names, nonces) never show.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from bot.chat.console import render_text
from bot.chat.embeds import footer_marker, post_chart, post_embed
from bot.chat.fit import FENCE, LIMITS, embed_length
from bot.chat.post_lines import PHONE_COLUMNS
from bot.chat.sinks import Post
from bot.db import outbox
from bot.db.connection import Database
from bot.db.round_notes import Beaten
from bot.db.session_bests import SessionBests
from bot.ingest.record_notes import MAX_SESSION_NOTES, session_notes_of
from bot.ingest.session_posts import close_idle_sessions
from tests.helpers.chat import import_samples, round_post, session_player, session_post

INTERNAL = ("round2_only", "next_time_limit", "orphan", "shutdown_path", "counter_reset", ".txt", "OMNIBOT")


@pytest.fixture(scope="module")
def real_posts(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Post]:
    """The round, match and session posts the real samples make (all kinds queued; sessions closed)."""
    import asyncio

    async def run() -> list[Post]:
        async with await Database.open(tmp_path_factory.mktemp("render") / "db.sqlite") as db:
            await import_samples(db, samples_dir)
            await close_idle_sessions(db, idle_seconds=0, now=time.time() + 10)
            rows = await outbox.due(db, now=time.time() + 100, limit=10_000)
        return [Post.from_row(r) for r in rows if r.kind in ("round", "match", "session")]

    return asyncio.run(run())


def _code_lines(embed: dict[str, Any]) -> list[str]:
    texts = [embed.get("description") or "", *(f.get("value") or "" for f in embed.get("fields") or [])]
    out: list[str] = []
    for text in texts:
        parts = text.split(FENCE)
        out += [line for block in parts[1::2] for line in block.strip("\n").split("\n")]
    return out


def _check(post: Post) -> dict[str, Any]:
    embed = post_embed(post, image="session.png" if post.kind == "session" else None).to_dict()
    assert embed_length(dict(embed)) <= LIMITS.total
    assert len(embed.get("title") or "") <= LIMITS.title
    assert len(embed.get("description") or "") <= LIMITS.description
    assert len(embed.get("fields") or []) <= LIMITS.fields
    for f in embed.get("fields") or []:
        assert len(f["name"]) <= LIMITS.field_name
        assert len(f["value"]) <= LIMITS.field_value
        assert f["value"].count(FENCE) % 2 == 0  # no table cut open
    assert footer_marker(embed["footer"]["text"]) == post.nonce
    wide = [line for line in _code_lines(embed) if len(line) > PHONE_COLUMNS]
    assert not wide, f"{post.kind} lines wider than {PHONE_COLUMNS}: {wide}"
    shown = str({k: v for k, v in embed.items() if k != "footer"})
    assert post.nonce not in shown
    for word in INTERNAL:
        assert word not in shown, (post.kind, word)
    return embed


@pytest.mark.parametrize("kind", ["round", "match", "session"])
def test_every_real_post_fits_discord_and_a_phone(real_posts: list[Post], kind: str) -> None:
    posts = [p for p in real_posts if p.kind == kind]
    assert posts, f"no {kind} post"
    for post in posts:
        _check(post)
        text = render_text(post)  # the console sink renders the same post readably
        tables = [line[4:] for line in text.splitlines() if line.startswith("    ") and " — " not in line]
        assert all(len(line) <= PHONE_COLUMNS for line in tables)


def test_round_posts_split_the_sides_and_leave_spectators_out(real_posts: list[Post]) -> None:
    # 2025-10-23 etl_sp_delivery round 2: carniee and vid were spectators at the end (team 3).
    post = next(
        p for p in real_posts if p.kind == "round" and p.payload["filename"].startswith("2025-10-23-221355")
    )
    embed = _check(post)
    names = [f["name"] for f in embed["fields"]]
    assert names == ["Axis · defending", "Allies · attacking"]
    tables = "\n".join(f["value"] for f in embed["fields"])
    assert "carniee" not in tables
    assert "vid " not in tables
    assert tables.split("\n")[1].split() == ["Player", "K", "D", "G", "DPM", "ACC", "HS", "REV"]


def test_session_post_is_the_flagship(real_posts: list[Post]) -> None:
    post = next(
        p for p in real_posts if p.kind == "session" and p.payload["started_at"] == "2025-10-14T21:22:14"
    )
    embed = _check(post)
    description = embed["description"]
    assert embed["title"] == "Team endekk 3 – 0 Team olz"
    assert embed["author"]["name"] == "main · Session #15 · 2025-10-14 21:22 → 22:19"
    assert description.startswith("3 maps · 6 rounds\n")
    assert description.count("beat") == 3  # one line per map
    assert "MVP: **" in description
    assert embed["image"]["url"] == "attachment://session.png"
    assert 4 <= len(next(f for f in embed["fields"] if f["name"] == "Awards")["value"].split("\n")) <= 6
    # What the session set (bot.db.session_bests), under the MVP line, one ✨ line each.
    notes = post.payload["notes"]
    assert notes
    assert description.endswith("\n".join(f"✨ {n}" for n in notes))
    assert any(n.startswith("New server record: ") and " in a round on " in n for n in notes)


def test_a_session_that_set_many_records_keeps_its_post_short() -> None:
    """The note list is capped ("+N more"); long names and many lines still fit Discord and a phone."""
    long = "^1" + "z" * 34
    bests = SessionBests(
        fastest=[Beaten("", f"[FTW]{'w' * 30}", 300.0 + i, 400.0, f"etl_map_number_{i}") for i in range(3)],
        most_kills=Beaten("K1", long, 52.0, 47.0, "supply"),
        best_dpm=Beaten("K2", long + "2", 612.4, 580.0, "supply"),
        personal_kills=[Beaten(f"P{i}", f"{long}{i}", 30.0 - i, 20.0, "supply") for i in range(8)],
        personal_dpm=[Beaten(f"P{i}", f"{long}{i}", 400.0, 390.0, "supply") for i in range(0, 8, 2)],
    )
    notes = session_notes_of(bests)
    assert len(notes) == MAX_SESSION_NOTES
    assert notes[0] == f"New record on etl_map_number_0: fastest attack 5:00 by [FTW]{'w' * 30} (was 6:40)"
    assert notes[3] == f"New server record: {long} 52 kills in a round on supply (was 47)"
    assert notes[4] == f"New server record: {long}2 612 DPM in a round on supply (was 580)"
    assert notes[5] == "+8 more personal bests"
    payload = {**session_post(), "notes": notes}
    embed = _check(Post(5, "session", "stats", payload, "s" * 24, 0, 0.0))
    assert embed["description"].endswith("✨ +8 more personal bests")
    # Fewer lines than the cap: all shown, a player's kills and DPM on one line.
    few = SessionBests([], None, None, bests.personal_kills[:2], bests.personal_dpm[:1])
    assert session_notes_of(few) == [
        f"Personal best: {long}0 30 kills, 400 DPM",
        f"Personal best: {long}1 29 kills",
    ]


async def test_session_chart_renders_off_the_loop(real_posts: list[Post]) -> None:
    post = next(
        p for p in real_posts if p.kind == "session" and p.payload["started_at"] == "2025-10-14T21:22:14"
    )
    png = await post_chart(post)
    assert png is not None
    assert png.startswith(b"\x89PNG")


def test_big_synthetic_posts_still_fit() -> None:
    long_names = [f"^1{'x' * 30}{i}" for i in range(64)]
    payload = dict(round_post(players=64))
    for pl, name in zip(payload["players"], long_names, strict=True):
        pl["clean_name"] = name
    _check(Post(1, "round", "stats", payload, "n" * 24, 0, 0.0))
    session = dict(session_post())
    session["players"] = [session_player(f"{'y' * 28}{i}", 1 + i % 2, 300 + i, 200) for i in range(24)]
    _check(Post(2, "session", "stats", session, "m" * 24, 0, 0.0))


def test_admin_alerts_fit_too() -> None:
    from tests.helpers.chat import alert_post

    for kind in ("alert", "alert_resolved"):
        post = Post(3, kind, "admin", dict(alert_post(message="x" * 5000)), "a" * 24, 0, 0.0)
        embed = post_embed(post).to_dict()
        assert embed_length(dict(embed)) <= LIMITS.total
        assert len(embed.get("description") or "") <= LIMITS.description
        assert footer_marker(embed["footer"]["text"]) == post.nonce


def test_an_info_notice_is_not_dressed_as_a_red_alert() -> None:
    from tests.helpers.chat import alert_post

    def embed_of(severity: str) -> dict[str, object]:
        payload = {**alert_post(message="Imported 40 rounds of history"), "severity": severity}
        return dict(post_embed(Post(4, "alert", "admin", payload, "b" * 24, 0, 0.0)).to_dict())

    info, error = embed_of("info"), embed_of("error")
    assert info["title"] == "Notice"
    assert error["title"] == "Alert · error"
    assert info["color"] != error["color"]
