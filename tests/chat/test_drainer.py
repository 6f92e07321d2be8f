"""OutboxDrainer with a scripted sink: order per channel, backoff, dead letters, reconciling, restarts."""

from __future__ import annotations

import random
from collections.abc import Mapping

from bot.chat.drainer import OutboxDrainer, RetryPolicy
from bot.chat.errors import AmbiguousSendError, PermanentSendError, SendError, TransientSendError
from bot.chat.sinks import Post
from bot.db import outbox
from bot.db.connection import Database
from tests.helpers.chat import Clock, alert_post, enqueue, round_post


class ScriptedSink:
    """A chat service stand-in: fails per a script of errors, else 'delivers' and remembers each post."""

    reconciles = True

    def __init__(self) -> None:
        self.script: list[Exception | None] = []  # consumed one per send; None = deliver
        self.delivered: list[tuple[str, int]] = []  # (channel, post id)
        self.visible: dict[str, dict[str, str]] = {}  # channel → nonce → message id (what a reader sees)
        self.history_calls = 0

    async def send(self, post: Post) -> str:
        step = self.script.pop(0) if self.script else None
        if isinstance(step, AmbiguousSendError):  # it did land, but the caller never heard back
            self._land(post)
            raise step
        if step is not None:
            raise step
        return self._land(post)

    def _land(self, post: Post) -> str:
        self.delivered.append((post.channel, post.id))
        message_id = f"m{len(self.delivered)}"
        self.visible.setdefault(post.channel, {})[post.nonce] = message_id
        return message_id

    async def recent_markers(self, channel: str) -> Mapping[str, str]:
        self.history_calls += 1
        return dict(self.visible.get(channel, {}))

    async def close(self) -> None:
        return None


def drainer(db: Database, sink: ScriptedSink, clock: Clock) -> OutboxDrainer:
    # jitter 0: deterministic deadlines; nonce window 60 s
    policy = RetryPolicy(base_seconds=2, max_seconds=60, jitter=0, nonce_window_seconds=60)
    return OutboxDrainer(db, sink, clock=clock, policy=policy, rng=random.Random(1))


async def test_transient_failure_blocks_later_posts_of_that_channel_only(db: Database) -> None:
    clock, sink = Clock(), ScriptedSink()
    first = await enqueue(db, "round", round_post("a"))
    second = await enqueue(db, "round", round_post("b"))
    admin = await enqueue(db, "alert", alert_post(), channel="admin")
    sink.script = [TransientSendError("503 service unavailable")]
    d = drainer(db, sink, clock)
    stats = await d.drain_once()
    # one of the two channels failed first; whichever it was, stats post 2 must not overtake post 1
    assert stats.retried == 1
    assert ("stats", second) not in sink.delivered or ("stats", first) in sink.delivered
    clock.advance(1)
    await d.drain_once()  # still backing off (2 s)
    clock.advance(1.5)
    await d.drain_once()
    stats_order = [pid for ch, pid in sink.delivered if ch == "stats"]
    assert stats_order == [first, second]
    assert [pid for ch, pid in sink.delivered if ch == "admin"] == [admin]
    assert await outbox.backlog(db) == 0


async def test_order_survives_a_restart_while_the_head_backs_off(db: Database) -> None:
    clock, sink = Clock(), ScriptedSink()
    first = await enqueue(db, "round", round_post("a"))
    sink.script = [TransientSendError("502")]
    await drainer(db, sink, clock).drain_once()
    later = await enqueue(db, "round", round_post("b"), now=clock.now)  # due at once, head is not
    restarted = drainer(db, sink, clock)  # fresh instance: nothing in memory
    await restarted.drain_once()
    assert sink.delivered == []
    clock.advance(5)
    await restarted.drain_once()
    assert [pid for _, pid in sink.delivered] == [first, later]


async def test_backoff_is_capped_exponential_and_honours_retry_after(db: Database) -> None:
    clock, sink = Clock(), ScriptedSink()
    post_id = await enqueue(db, "round", round_post())
    d = drainer(db, sink, clock)
    deadlines = []
    for _ in range(7):
        sink.script = [TransientSendError("500")]
        await d.drain_once()
        row = await outbox.get(db, post_id)
        assert row is not None
        deadlines.append(row.next_attempt_at - clock.now)
        clock.now = row.next_attempt_at
    assert deadlines == [2, 4, 8, 16, 32, 60, 60]
    sink.script = [TransientSendError("429", retry_after=300)]
    await d.drain_once()
    row = await outbox.get(db, post_id)
    assert row is not None
    assert row.next_attempt_at - clock.now == 300
    assert row.attempts == 8


async def test_jitter_stays_within_bounds() -> None:
    d = OutboxDrainer(None, ScriptedSink(), policy=RetryPolicy(base_seconds=10, jitter=0.5))  # type: ignore[arg-type]
    values = [d.backoff(1) for _ in range(200)]
    assert all(10 <= v <= 20 for v in values)
    assert len(set(values)) > 100


async def test_permanent_error_dead_letters_with_one_admin_alert(db: Database) -> None:
    clock, sink = Clock(), ScriptedSink()
    bad = await enqueue(db, "round", round_post("bad"))
    good = await enqueue(db, "round", round_post("good"))
    sink.script = [PermanentSendError("403 Missing Access", status=403)]
    stats = await drainer(db, sink, clock).drain_once()
    assert stats.dead == 1
    row = await outbox.get(db, bad)
    assert row is not None
    assert row.state == "dead"
    assert row.last_error == "403 Missing Access"
    # the next post of the channel went on; the alert went to the admin channel
    assert ("stats", good) in sink.delivered
    alerts = [pid for ch, pid in sink.delivered if ch == "admin"]
    assert len(alerts) == 1
    alert = await outbox.get(db, alerts[0])
    assert alert is not None
    assert alert.kind == "alert"
    assert (
        f"post {bad} (round to the stats channel) was dropped: 403 Missing Access" in alert.payload["message"]
    )


async def test_dead_alert_about_a_dead_alert_stops_the_chain(db: Database) -> None:
    clock, sink = Clock(), ScriptedSink()
    await enqueue(db, "round", round_post())
    sink.script = [PermanentSendError("404 Unknown Channel"), PermanentSendError("404 Unknown Channel")]
    stats = await drainer(db, sink, clock).drain_once()
    assert stats.dead == 2
    assert sink.delivered == []
    assert await outbox.backlog(db) == 0


async def test_ambiguous_failure_reconciles_instead_of_resending(db: Database) -> None:
    clock, sink = Clock(), ScriptedSink()
    post_id = await enqueue(db, "round", round_post())
    sink.script = [AmbiguousSendError("connection dropped")]
    d = drainer(db, sink, clock)
    stats = await d.drain_once()
    assert stats.retried == 1
    assert len(sink.delivered) == 1
    clock.advance(10)
    stats = await d.drain_once()
    assert stats.reconciled == 1
    assert len(sink.delivered) == 1
    row = await outbox.get(db, post_id)
    assert row is not None
    assert row.state == "sent"
    assert row.message_id == "m1"


async def test_old_post_is_looked_up_once_per_pass_then_sent(db: Database) -> None:
    clock, sink = Clock(), ScriptedSink()
    for name in "abc":
        await enqueue(db, "round", round_post(name), now=clock.now)
    clock.advance(3600)  # e.g. the process was down: beyond the nonce window
    stats = await drainer(db, sink, clock).drain_once()
    assert stats.sent == 3
    assert sink.history_calls == 1


async def test_unexpected_errors_are_retried_then_dead_lettered(db: Database) -> None:
    clock, sink = Clock(), ScriptedSink()
    post_id = await enqueue(db, "round", round_post())
    sink.script = [KeyError("players")] * 5
    d = drainer(db, sink, clock)
    for _ in range(5):
        await d.drain_once()
        clock.advance(120)
    row = await outbox.get(db, post_id)
    assert row is not None
    assert row.state == "dead"
    assert "KeyError" in (row.last_error or "")


async def test_send_error_base_class_is_not_swallowed_silently(db: Database) -> None:
    clock, sink = Clock(), ScriptedSink()
    post_id = await enqueue(db, "round", round_post())
    sink.script = [SendError("odd")]
    await drainer(db, sink, clock).drain_once()
    row = await outbox.get(db, post_id)
    assert row is not None
    assert row.state == "pending"
    assert row.attempts == 1


async def test_a_backing_off_channel_does_not_starve_the_other(db: Database) -> None:
    clock, sink = Clock(), ScriptedSink()
    stats_ids = [await enqueue(db, "round", round_post(f"m{i}")) for i in range(60)]  # more than a batch
    admin = await enqueue(db, "alert", alert_post(), channel="admin")
    sink.script = [TransientSendError("503")]  # the stats head fails and backs off
    d = drainer(db, sink, clock)
    await d.drain_once()
    await d.drain_once()  # still inside the head's backoff
    assert sink.delivered == [("admin", admin)]
    clock.advance(5)
    await d.drain_once()
    assert [pid for ch, pid in sink.delivered if ch == "stats"] == stats_ids


async def test_a_lost_channel_alerts_once_not_per_post(db: Database) -> None:
    clock, sink = Clock(), ScriptedSink()
    ids = [await enqueue(db, "round", round_post(f"m{i}")) for i in range(3)]
    sink.script = [PermanentSendError("403 Missing Access", status=403)] * 3
    stats = await drainer(db, sink, clock).drain_once()
    assert stats.dead == 3
    for post_id in ids:
        row = await outbox.get(db, post_id)
        assert row is not None
        assert row.state == "dead"
    assert len([pid for ch, pid in sink.delivered if ch == "admin"]) == 1


async def test_the_drainers_query_reads_only_pending_posts_after_years_of_sent_ones(
    sqlite_db: Database,
) -> None:
    """SQLite's query plan (PostgreSQL's planner needs no hint). Every 1.5 s the drainer asks for
    sendable posts: with the table's statistics saying almost all rows are 'sent' (PRAGMA optimize
    at every close), it must still go through the pending index, not
    walk the whole outbox (0.3 s per run at 117,000 posts: most of an idle daemon's CPU)."""
    db = sqlite_db
    from bot.db import chat_queries

    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO outbox (kind, channel, dedupe_key, payload, nonce, state, created_at, sent_at) "
            "VALUES ('round', 'stats', ?, '{}', ?, 'sent', 1, 2)",
            [(f"old:{i}", f"n{i}") for i in range(3000)],
        )
    head = await enqueue(db, "round", round_post())
    await db.execute("ANALYZE")
    plan = " | ".join(
        str(r[3])
        for r in await db.fetchall("EXPLAIN QUERY PLAN " + chat_queries.SENDABLE_SQL, (2e3, 2e3, 50))
    )
    assert "SCAN" not in plan, plan
    assert plan.count("USING INDEX outbox_pending") == 2, plan
    assert [r.id for r in await chat_queries.sendable(db, now=2000.0, limit=50)] == [head]
