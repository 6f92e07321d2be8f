"""start_chat without a token: the console sink prints readable posts, each once, and records them sent."""

from __future__ import annotations

import asyncio
import io

from bot.chat.runtime import start_chat
from bot.config import Settings
from bot.db import outbox
from bot.db.connection import Database
from tests.helpers.chat import alert_post, enqueue, match_post, round_post, session_post


async def test_console_prints_each_post_once_in_order(db: Database) -> None:
    out = io.StringIO()
    chat = await start_chat(Settings.from_values(discord={"posts": "all"}), db, stream=out)
    try:
        assert chat.kind == "console"
        ids = [
            await enqueue(db, "round", round_post("supply", 1)),
            await enqueue(db, "round", round_post("supply", 2)),
            await enqueue(db, "match", match_post("supply")),
            await enqueue(db, "session", session_post()),
            await enqueue(db, "alert", alert_post(), channel="admin"),
        ]
        stats = await chat.drain_once()
        assert stats.sent == 5
        assert (await chat.drain_once()).sent == 0  # nothing twice
    finally:
        await chat.close()
    text = out.getvalue()
    positions = [text.index(f"post {i} ·") for i in ids[:4]]  # the stats channel's posts, in id order
    assert positions == sorted(positions)
    assert "supply · round 1 on main · 2025-10-02 23:23" in text
    assert "Allies completed the objective in 8:12 (limit 10:00)" in text
    assert "Round 2 numbers only." in text
    assert "Axis · defending" in text
    assert "Allies · attacking" in text
    assert "player0" in text
    assert "Objectives: Axis 2 planted, 4 repairs · Allies 2 planted, 4 repairs" in text
    assert "Team alice beat Team bob — 6:41 vs 8:12" in text
    assert "Team bob attacked first and set 8:12; Team alice did it in 6:41." in text
    assert "Session #7 on main" in text
    assert "Team alice 2 – 0 Team bob\n3 maps · 6 rounds · 1 draw" in text
    assert "MVP: alice (Team alice)" in text
    assert "ALERT [error] main unreachable  [server_unreachable:main]" in text
    for post_id in ids:
        row = await outbox.get(db, post_id)
        assert row is not None
        assert row.state == "sent"
        assert row.message_id is not None
    assert await outbox.backlog(db) == 0


async def test_disabled_kinds_are_recorded_not_printed(db: Database) -> None:
    """The default `posts = "matches"`: no round posts (recorded as sent, never printed), match posts."""
    out = io.StringIO()
    settings = Settings.from_values()
    chat = await start_chat(settings, db, stream=out)
    try:
        round_id = await enqueue(db, "round", round_post())
        match_id = await enqueue(db, "match", match_post())
        await chat.drain_once()
    finally:
        await chat.close()
    assert "round 1" not in out.getvalue()
    assert "supply — match on main" in out.getvalue()
    skipped = await outbox.get(db, round_id)
    assert skipped is not None
    assert skipped.state == "sent"
    assert skipped.message_id == "skipped:disabled"
    assert (await outbox.get(db, match_id)) is not None


async def test_sessions_mode_posts_only_the_session(db: Database) -> None:
    out = io.StringIO()
    chat = await start_chat(Settings.from_values(discord={"posts": "sessions"}), db, stream=out)
    try:
        ids = [await enqueue(db, kind, p) for kind, p in
               (("round", round_post()), ("match", match_post()), ("session", session_post()))]  # fmt: skip
        await chat.drain_once()
    finally:
        await chat.close()
    text = out.getvalue()
    assert "· match" not in text
    assert "round 1" not in text
    assert "Session #7 on main" in text
    states = [await outbox.get(db, i) for i in ids]
    assert [r.message_id.startswith("console:") for r in states if r and r.message_id] == [False, False, True]


async def test_run_wakes_on_notify_and_stops(db: Database) -> None:
    out = io.StringIO()
    chat = await start_chat(Settings.from_values(), db, stream=out)
    stop = asyncio.Event()
    task = asyncio.create_task(chat.run(stop))
    try:
        await asyncio.sleep(0.05)
        await enqueue(db, "alert", alert_post(), channel="admin")
        chat.notify()
        for _ in range(50):  # far below the 1.5 s poll: the notify() woke it
            if "ALERT" in out.getvalue():
                break
            await asyncio.sleep(0.01)
        assert "ALERT" in out.getvalue()
    finally:
        stop.set()
        await asyncio.wait_for(task, 2)
        await chat.close()
