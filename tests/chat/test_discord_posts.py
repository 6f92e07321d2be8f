"""Posts through real discord.py to the fake REST server: embeds, nonce, outages, restarts, ambiguity."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import discord
import pytest

from bot.chat.drainer import OutboxDrainer, RetryPolicy
from bot.chat.embeds import footer_marker
from bot.chat.runtime import ChatRuntime, start_chat
from bot.db import outbox
from bot.db.connection import Database
from bot.errors import ConfigError
from tests.helpers.chat import alert_post, discord_settings, enqueue, match_post, round_post
from tests.helpers.fake_discord import ADMIN_CHANNEL, STATS_CHANNEL, FakeDiscord, Fault

FAST = RetryPolicy(base_seconds=0.02, max_seconds=0.1, jitter=0, poll_seconds=0.05)


async def enqueue_now(db: Database, kind: str, payload: Any, channel: str = "stats") -> int:
    """Queue a post created now (inside Discord's nonce window, unlike the helper's fixed old time)."""
    return await enqueue(db, kind, payload, channel=channel, now=time.time())


async def start(db: Database, policy: RetryPolicy = FAST) -> ChatRuntime:
    chat = await start_chat(discord_settings(), db, policy=policy)
    assert chat.kind == "discord"
    return chat


async def drain_until_empty(chat: ChatRuntime, db: Database, *, seconds: float = 15) -> None:
    async with asyncio.timeout(seconds):
        while await outbox.backlog(db):
            await chat.drain_once()
            await asyncio.sleep(0.02)


def markers(messages: list[dict[str, Any]]) -> list[str | None]:
    return [footer_marker(m["embeds"][0]["footer"]["text"]) for m in messages]


async def nonces_in_order(db: Database, ids: list[int]) -> list[str]:
    rows = [await outbox.get(db, i) for i in ids]
    return [r.nonce for r in rows if r is not None]


async def test_post_goes_out_with_nonce_and_marker(db: Database, fake: FakeDiscord) -> None:
    chat = await start(db)
    try:
        post_id = await enqueue_now(db, "round", round_post())
        stats = await chat.drain_once()
    finally:
        await chat.close()
    assert stats.sent == 1
    sent = fake.posts(f"/channels/{STATS_CHANNEL}/messages")
    assert len(sent) == 1
    body = sent[0].json
    row = await outbox.get(db, post_id)
    assert row is not None
    assert body["nonce"] == row.nonce
    assert body["enforce_nonce"] is True
    assert body["allowed_mentions"] == {"parse": []}
    assert body["embeds"][0]["title"] == "supply · round 1"
    assert footer_marker(body["embeds"][0]["footer"]["text"]) == row.nonce
    assert row.state == "sent"
    assert row.message_id == fake.visible()[0]["id"]


async def test_outage_then_recovery_delivers_each_post_once_in_order(db: Database, fake: FakeDiscord) -> None:
    chat = await start(db)
    try:
        ids = [await enqueue_now(db, "round", round_post(f"map{i}")) for i in range(4)]
        ids.append(await enqueue_now(db, "alert", alert_post(), channel="admin"))
        # 503 (not retried by discord.py: the drainer backs off), a 500 discord.py retries itself after
        # 1 s, and a 429 with retry_after that discord.py honours before trying again.
        fake.faults = [Fault(503), Fault(503), Fault(503), Fault(500), Fault(429, retry_after=0.2)]
        await drain_until_empty(chat, db)
    finally:
        await chat.close()
    assert markers(fake.visible(STATS_CHANNEL)) == await nonces_in_order(db, ids[:4])
    assert markers(fake.visible(ADMIN_CHANNEL)) == await nonces_in_order(db, ids[4:])
    retried = await outbox.get(db, ids[0])
    assert retried is not None
    assert retried.attempts >= 2


async def test_restart_in_the_middle_of_an_outage(db: Database, fake: FakeDiscord) -> None:
    ids = [await enqueue_now(db, "round", round_post(f"map{i}")) for i in range(3)]
    first = await start(db)
    try:
        fake.faults = [Fault(503)] * 2
        await first.drain_once()  # fails: the head backs off, nothing else may overtake it
        assert fake.visible() == []
    finally:
        await first.close()  # the "process" goes away; the outbox keeps everything
    ids.append(await enqueue_now(db, "match", match_post()))
    second = await start(db)
    try:
        await drain_until_empty(second, db)
    finally:
        await second.close()
    assert markers(fake.visible()) == await nonces_in_order(db, ids)


async def test_accepted_then_dropped_is_reconciled_not_resent(db: Database, fake: FakeDiscord) -> None:
    chat = await start(db)
    try:
        post_id = await enqueue_now(db, "round", round_post())
        fake.faults = [Fault(drop="after_accept")]
        stats = await chat.drain_once()
        assert stats.retried == 1
        row = await outbox.get(db, post_id)
        assert row is not None
        assert (row.last_error or "").startswith("ambiguous")
        fake.expire_nonces()  # even beyond Discord's nonce window, a resend would duplicate
        await drain_until_empty(chat, db)
    finally:
        await chat.close()
    assert len(fake.visible()) == 1
    assert len(fake.posts(f"/channels/{STATS_CHANNEL}/messages")) == 1  # no resend at all
    assert fake.posts(f"/channels/{STATS_CHANNEL}/messages", method="GET")  # the history was read
    row = await outbox.get(db, post_id)
    assert row is not None
    assert row.message_id == fake.visible()[0]["id"]


async def test_without_history_the_nonce_prevents_a_duplicate(db: Database, fake: FakeDiscord) -> None:
    fake.history_forbidden = True  # reconciliation cannot see anything
    chat = await start(db)
    try:
        post_id = await enqueue_now(db, "round", round_post())
        fake.faults = [Fault(drop="after_accept")]
        await chat.drain_once()
        await drain_until_empty(chat, db)
    finally:
        await chat.close()
    assert len(fake.posts(f"/channels/{STATS_CHANNEL}/messages")) == 2  # resent with the same nonce...
    assert len(fake.visible()) == 1  # ...and Discord returned the first message
    row = await outbox.get(db, post_id)
    assert row is not None
    assert row.message_id == fake.visible()[0]["id"]


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the drainer handles it."""


class CrashAfterSend:
    """The process dies after Discord accepted the post and before the outbox recorded it."""

    reconciles = True

    def __init__(self, real: Any) -> None:
        self.real = real

    async def send(self, post: Any) -> str:
        await self.real.send(post)
        raise Killed("after 2xx")

    async def recent_markers(self, channel: str) -> Any:
        return await self.real.recent_markers(channel)

    async def close(self) -> None:
        await self.real.close()


async def test_crash_after_2xx_before_mark_sent_then_restart(db: Database, fake: FakeDiscord) -> None:
    post_id = await enqueue_now(db, "round", round_post())
    first = await start(db)
    try:
        crashing = OutboxDrainer(db, CrashAfterSend(first.sink), policy=FAST)
        with pytest.raises(Killed):
            await crashing.drain_once()
    finally:
        await first.close()
    row = await outbox.get(db, post_id)
    assert row is not None
    assert row.state == "pending"  # the send was never recorded
    assert row.attempts == 0
    second = await start(db)  # restart: resends with the same nonce inside the window
    try:
        await drain_until_empty(second, db)
    finally:
        await second.close()
    assert len(fake.visible()) == 1
    assert len(fake.posts(f"/channels/{STATS_CHANNEL}/messages")) == 2
    row = await outbox.get(db, post_id)
    assert row is not None
    assert row.message_id == fake.visible()[0]["id"]


async def test_residual_risk_beyond_the_window_without_history(db: Database, fake: FakeDiscord) -> None:
    """Documents the one gap: nonce expired AND history unreadable (or scrolled away) → a second message."""
    fake.history_forbidden = True
    chat = await start(db)
    try:
        await enqueue_now(db, "round", round_post())
        fake.faults = [Fault(drop="after_accept")]
        await chat.drain_once()
        fake.expire_nonces()
        await drain_until_empty(chat, db)
    finally:
        await chat.close()
    assert len(fake.visible()) == 2


async def test_dropped_before_accept_is_sent_once(db: Database, fake: FakeDiscord) -> None:
    chat = await start(db)
    try:
        await enqueue_now(db, "round", round_post())
        fake.faults = [Fault(drop="before_accept")]
        await drain_until_empty(chat, db)
    finally:
        await chat.close()
    assert len(fake.visible()) == 1


async def test_forbidden_post_is_dead_lettered_and_admins_told(db: Database, fake: FakeDiscord) -> None:
    chat = await start(db)
    try:
        dead_id = await enqueue_now(db, "round", round_post("bad"))
        ok_id = await enqueue_now(db, "round", round_post("good"))
        fake.faults = [Fault(403)]
        await drain_until_empty(chat, db)
    finally:
        await chat.close()
    dead = await outbox.get(db, dead_id)
    assert dead is not None
    assert dead.state == "dead"
    assert (dead.last_error or "").startswith("403")
    assert markers(fake.visible(STATS_CHANNEL)) == await nonces_in_order(db, [ok_id])
    admin = fake.visible(ADMIN_CHANNEL)
    assert len(admin) == 1
    assert f"post {dead_id} (round to the stats channel) was dropped" in admin[0]["embeds"][0]["description"]


async def test_long_rate_limit_backs_off_for_retry_after(db: Database, fake: FakeDiscord) -> None:
    chat = await start(db)
    try:
        post_id = await enqueue_now(db, "round", round_post())
        fake.faults = [Fault(429, retry_after=45.0)]  # above max_ratelimit_timeout: RateLimited
        stats = await chat.drain_once()
    finally:
        await chat.close()
    assert stats.retried == 1
    row = await outbox.get(db, post_id)
    assert row is not None
    assert row.state == "pending"
    assert row.next_attempt_at - row.created_at >= 45.0
    assert fake.visible() == []


async def test_discord_unreachable_at_start_still_delivers_later(
    db: Database, fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    working = discord.http.Route.BASE
    monkeypatch.setattr(discord.http.Route, "BASE", "http://127.0.0.1:1/api/v10")  # connection refused
    chat = await start(db)  # does not raise: imports must go on while Discord is down
    try:
        assert chat.bot is None
        post_id = await enqueue_now(db, "round", round_post())
        stats = await chat.drain_once()
        assert stats.retried == 1
        row = await outbox.get(db, post_id)
        assert row is not None
        assert (row.last_error or "").startswith("not connected")
        monkeypatch.setattr(discord.http.Route, "BASE", working)  # Discord is back
        await drain_until_empty(chat, db)
        assert chat.discord is not None
        assert chat.discord.client is not None  # connected on demand
    finally:
        await chat.close()
    assert markers(fake.visible()) == await nonces_in_order(db, [post_id])


async def test_bad_configuration_still_fails_fast(db: Database, fake: FakeDiscord) -> None:
    with pytest.raises(ConfigError) as err:
        await start_chat(discord_settings(stats_channel_id=4242), db)
    assert err.value.key == "discord.stats_channel_id"


async def test_run_posts_on_notify_while_the_gateway_is_unavailable(db: Database, fake: FakeDiscord) -> None:
    chat = await start(db, RetryPolicy(poll_seconds=30))  # only notify() can wake it in time
    stop = asyncio.Event()
    task = asyncio.create_task(chat.run(stop))
    try:
        await asyncio.sleep(0.1)  # the fake has no gateway: connecting it fails and is retried
        post_id = await enqueue_now(db, "round", round_post())
        chat.notify()
        async with asyncio.timeout(5):
            while not fake.visible():
                await asyncio.sleep(0.02)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
        await chat.close()
    assert markers(fake.visible()) == await nonces_in_order(db, [post_id])
