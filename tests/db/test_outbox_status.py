"""Outbox SQL (dedupe, nonce, due order, retry/sent/dead) and server status / alerts."""

from __future__ import annotations

from bot.db import outbox, status
from bot.db.connection import Database


async def _enqueue(db: Database, key: str, now: float = 1.0, channel: str = "stats") -> int | None:
    async with db.transaction() as tx:
        return await outbox.enqueue(
            tx, kind="round", channel=channel, dedupe_key=key, payload={"b": 1, "a": [1, 2]}, now=now
        )


async def test_enqueue_is_deduplicated(db: Database) -> None:
    first = await _enqueue(db, "round:main:x")
    assert first is not None
    assert await _enqueue(db, "round:main:x") is None
    assert await outbox.backlog(db) == 1
    row = await outbox.get(db, first)
    assert row is not None
    assert row.payload == {"a": [1, 2], "b": 1}
    assert 20 <= len(row.nonce) <= outbox.NONCE_MAX_LENGTH
    assert row.nonce.replace("-", "").replace("_", "").isalnum()


async def test_nonces_are_unique(db: Database) -> None:
    for i in range(200):
        await _enqueue(db, f"k{i}")
    nonces = {r.nonce for r in await outbox.due(db, now=10.0, limit=1000)}
    assert len(nonces) == 200


async def test_due_order_and_retry_backoff(db: Database) -> None:
    a = await _enqueue(db, "a", now=1.0)
    b = await _enqueue(db, "b", now=2.0, channel="admin")
    assert a is not None
    assert b is not None
    assert [r.id for r in await outbox.due(db, now=5.0, limit=10)] == [a, b]
    await outbox.mark_retry(db, a, "timeout", next_attempt_at=100.0)
    assert [r.id for r in await outbox.due(db, now=5.0, limit=10)] == [b]
    retried = await outbox.get(db, a)
    assert retried is not None
    assert (retried.attempts, retried.last_error, retried.state) == (1, "timeout", "pending")
    assert [r.id for r in await outbox.due(db, now=100.0, limit=1)] == [a]
    await outbox.mark_sent(db, a, "123456", now=101.0)
    await outbox.mark_dead(db, b, "403 forbidden")
    assert await outbox.due(db, now=1000.0, limit=10) == []
    assert await outbox.backlog(db) == 0
    sent = await outbox.get(db, a)
    assert sent is not None
    assert (sent.state, sent.message_id, sent.sent_at, sent.attempts) == ("sent", "123456", 101.0, 2)
    assert [r.id for r in await outbox.dead_letters(db)] == [b]


def test_payload_encoding_is_canonical() -> None:
    assert outbox.encode_payload({"b": 1, "a": "é"}) == outbox.encode_payload({"a": "é", "b": 1})


async def test_alerts_open_and_resolve_once(db: Database) -> None:
    async with db.transaction() as tx:
        assert await status.open_alert(tx, "server_unreachable:main", "error", "down", now=1.0)
        assert not await status.open_alert(tx, "server_unreachable:main", "error", "down", now=2.0)
    assert [a.key for a in await status.open_alerts(db)] == ["server_unreachable:main"]
    async with db.transaction() as tx:
        assert await status.resolve_alert(tx, "server_unreachable:main", now=3.0)
        assert not await status.resolve_alert(tx, "server_unreachable:main", now=4.0)
        assert not await status.resolve_alert(tx, "never_opened", now=4.0)
    assert await status.open_alerts(db) == []
    async with db.transaction() as tx:  # the same problem again later is a new alert
        assert await status.open_alert(tx, "server_unreachable:main", "error", "down again", now=5.0)
    alert = await status.get_alert(db, "server_unreachable:main")
    assert alert is not None
    assert (alert.message, alert.opened_at, alert.resolved_at) == ("down again", 5.0, None)


async def test_poll_status_counts_failures(db: Database) -> None:
    async with db.transaction() as tx:
        assert await status.record_poll_failure(tx, "main", now=1.0, error="refused", seconds=0.5) == 1
        assert await status.record_poll_failure(tx, "main", now=2.0, error="refused", seconds=0.5) == 2
        await status.record_poll_success(tx, "other", now=2.0, listing_count=7, seconds=0.1)
    async with db.transaction() as tx:
        await status.record_poll_success(tx, "main", now=3.0, listing_count=None, seconds=0.2)
    main, other = await status.server_statuses(db)
    assert (main.server, main.consecutive_failures, main.last_error, main.last_success_at) == (
        "main",
        0,
        None,
        3.0,
    )
    assert (other.last_listing_count, other.last_poll_seconds) == (7, 0.1)
