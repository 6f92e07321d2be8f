"""The outbox drainer: delivers due posts in id order per channel, exactly once, surviving restarts."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog

from bot.chat.errors import AmbiguousSendError, PermanentSendError, TransientSendError
from bot.chat.sinks import Post, Sink
from bot.db import chat_queries, outbox
from bot.db.connection import Database
from bot.ingest.posts import KIND_ALERT, alert_payload

log = structlog.get_logger(__name__)

DEAD_ALERT_PREFIX = "outbox_dead:"
CHANNEL_LEVEL_STATUSES = frozenset({403, 404})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Backoff and pacing. Transient failures retry forever (an outage loses nothing); bugs do not."""

    base_seconds: float = 2.0
    max_seconds: float = 120.0  # after an outage, posts resume within two minutes
    jitter: float = 0.5  # the delay is scaled by a random factor in [1 - jitter, 1]
    # Discord dedupes an enforce_nonce resend only within "the past few minutes"; a post that may have
    # been attempted longer ago than this is first looked for in the channel's recent messages.
    nonce_window_seconds: float = 120.0
    max_unexpected_attempts: int = 5
    batch: int = 50
    poll_seconds: float = 1.5
    # Covers discord.py's own retries (429 sleeps up to 30 s, 5xx up to ~16 s); past it: ambiguous.
    send_timeout_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class DrainStats:
    sent: int = 0
    reconciled: int = 0
    retried: int = 0
    dead: int = 0

    def __add__(self, other: DrainStats) -> DrainStats:
        return DrainStats(
            self.sent + other.sent,
            self.reconciled + other.reconciled,
            self.retried + other.retried,
            self.dead + other.dead,
        )


_SENT = DrainStats(sent=1)
_RECONCILED = DrainStats(reconciled=1)
_RETRIED = DrainStats(retried=1)
_DEAD = DrainStats(dead=1)


class OutboxDrainer:
    """All state lives in the outbox table; an instance only adds an in-process lock and a wake-up event."""

    def __init__(
        self,
        db: Database,
        sink: Sink,
        *,
        clock: Callable[[], float] = time.time,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        skip_kinds: frozenset[str] = frozenset(),
    ) -> None:
        self._db = db
        self._sink = sink
        self._clock = clock
        self._policy = policy or RetryPolicy()
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not crypto)
        self._skip_kinds = skip_kinds  # kinds switched off in the config: recorded as sent, not posted
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()

    def notify(self) -> None:
        """New posts were committed: drain now instead of at the next poll."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Drain until `stop` is set; a failing pass is logged and retried, never fatal."""
        while not stop.is_set():
            self._wake.clear()  # before draining: a notify() during the pass must not be lost
            try:
                await self.drain_once()
            except Exception:
                log.exception("outbox_drain_failed")
            waiters = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
            _, pending = await asyncio.wait(
                waiters, timeout=self._policy.poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()

    async def drain_once(self) -> DrainStats:
        """Send everything due now (several batches if needed); returns what happened."""
        total = DrainStats()
        async with self._lock:
            while True:
                stats, more = await self._pass()
                total += stats
                # A dead letter queues an admin alert: one more pass delivers it now.
                if not (more or stats.dead) or stats.sent + stats.reconciled + stats.dead == 0:
                    break
        if total != DrainStats():
            log.info("outbox_drained", **_as_dict(total))
        return total

    async def _pass(self) -> tuple[DrainStats, bool]:
        now = self._clock()
        # Only posts not queued behind a backing-off post of their channel: order is per channel.
        rows = await chat_queries.sendable(self._db, now=now, limit=self._policy.batch)
        if not rows:
            return DrainStats(), False
        by_channel: dict[str, list[Post]] = {}
        for row in rows:
            post = Post.from_row(row)
            by_channel.setdefault(post.channel, []).append(post)
        results = await asyncio.gather(*(self._drain_channel(posts, now) for posts in by_channel.values()))
        total = DrainStats()
        for stats in results:
            total += stats
        return total, len(rows) >= self._policy.batch

    async def _drain_channel(self, posts: list[Post], now: float) -> DrainStats:
        total = DrainStats()
        markers: Mapping[str, str] | None = None
        for post in posts:  # already in id order
            if post.kind in self._skip_kinds:
                await outbox.mark_sent(self._db, post.id, "skipped:disabled", now)
                total += _SENT
                continue
            if post.corrects is not None:
                outcome = await self._correct(post, now)
                if outcome is not None:
                    total += outcome
                    if outcome is not _SENT and outcome is not _DEAD:
                        break
                    continue
                # nothing to edit: the correction is posted like any post (reconciled, nonce)
            if self._sink.reconciles and self._may_have_been_sent(post, now):
                if markers is None:
                    try:
                        markers = await self._sink.recent_markers(post.channel)
                    except TransientSendError as exc:
                        total += await self._retry(post, exc, now)
                        break
                found = markers.get(post.nonce)
                if found is not None:
                    await outbox.mark_sent(self._db, post.id, found, now)
                    log.info("outbox_post_reconciled", post_id=post.id, message_id=found)
                    total += _RECONCILED
                    continue
            outcome = await self._deliver(post, now)
            total += outcome
            if outcome is not _SENT and outcome is not _DEAD:
                break  # keep the channel's order: later posts wait for this one
        return total

    def _may_have_been_sent(self, post: Post, now: float) -> bool:
        # attempts > 0: an earlier attempt may have landed (ambiguous failure). An old post may have been
        # sent by a process that crashed before recording it, beyond the nonce window.
        return post.attempts > 0 or now - post.created_at > self._policy.nonce_window_seconds

    async def _correct(self, post: Post, now: float) -> DrainStats | None:
        """A correction edits the message showing its subject; it is never a second message. None: no
        message to edit (the subject's earlier posts were dropped or skipped), so it is to be posted.

        The subject's earlier posts come before it in the channel's order, so they have been delivered
        (or dropped) by now. Repeating an edit changes nothing more: an edit is never reconciled.
        """
        assert post.corrects is not None
        target = await outbox.correction_target(self._db, post.corrects, post.id)
        if target.waiting:  # not expected (order per channel): keep the order, look again later
            return await self._retry(post, TransientSendError(f"post {post.corrects} not delivered yet"), now)
        if target.message_id is None:
            return None
        return await self._deliver(post, now, edit=target.message_id)

    async def _deliver(self, post: Post, now: float, *, edit: str | None = None) -> DrainStats:
        call = self._sink.send(post) if edit is None else self._sink.edit(post, edit)
        try:
            message_id = await asyncio.wait_for(call, timeout=self._policy.send_timeout_seconds)
        except TimeoutError:
            return await self._retry(post, AmbiguousSendError("send timed out"), now)
        except PermanentSendError as exc:
            await self._dead_letter(post, exc.reason, exc.status)
            return _DEAD
        except TransientSendError as exc:
            return await self._retry(post, exc, now)
        except Exception as exc:
            log.exception("outbox_post_unexpected_error", post_id=post.id, kind=post.kind)
            if post.attempts + 1 >= self._policy.max_unexpected_attempts:
                await self._dead_letter(post, f"{type(exc).__name__}: {exc}")
                return _DEAD
            return await self._retry(post, TransientSendError(f"{type(exc).__name__}: {exc}"), now)
        await outbox.mark_sent(self._db, post.id, message_id, self._clock())
        log.info(
            "outbox_post_sent" if edit is None else "outbox_post_corrected",
            post_id=post.id, kind=post.kind, channel=post.channel, message_id=message_id,
            corrects=post.corrects,
        )  # fmt: skip
        return _SENT

    def backoff(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the `attempts`-th failure: capped exponential, jittered, ≥ retry_after."""
        p = self._policy
        delay = min(p.max_seconds, p.base_seconds * 2.0 ** min(attempts, 30))
        delay *= 1.0 - p.jitter * self._rng.random()
        return max(delay, retry_after or 0.0)

    async def _retry(self, post: Post, exc: TransientSendError, now: float) -> DrainStats:
        delay = self.backoff(post.attempts, exc.retry_after)
        ambiguous = isinstance(exc, AmbiguousSendError)
        error = ("ambiguous: " if ambiguous else "") + exc.reason
        await outbox.mark_retry(self._db, post.id, error, now + delay)
        log.warning(
            "outbox_post_retry", post_id=post.id, error=error, attempts=post.attempts + 1, delay=delay
        )
        return _RETRIED

    async def _dead_letter(self, post: Post, reason: str, status: int | None = None) -> None:
        log.error("outbox_post_dead", post_id=post.id, kind=post.kind, channel=post.channel, error=reason)
        # Alert first (idempotent by dedupe key), then mark dead: a crash in between re-runs both safely.
        # A dead alert about a dead post raises nothing further, or a broken admin channel would loop.
        if not str(post.payload.get("key", "")).startswith(DEAD_ALERT_PREFIX):
            if status in CHANNEL_LEVEL_STATUSES:
                # No access / channel gone: every post of the channel fails alike; tell the admins once a day.
                day = dt.datetime.fromtimestamp(self._clock(), dt.UTC).date().isoformat()
                key = f"{DEAD_ALERT_PREFIX}{post.channel}:{status}:{day}"
            else:
                key = f"{DEAD_ALERT_PREFIX}{post.id}"
            message = f"post {post.id} ({post.kind} to the {post.channel} channel) was dropped: {reason}"
            async with self._db.transaction() as tx:
                await outbox.enqueue(
                    tx,
                    kind=KIND_ALERT,
                    channel="admin",
                    dedupe_key=key,
                    payload=alert_payload(key, "error", message),
                    now=self._clock(),
                )
        await outbox.mark_dead(self._db, post.id, reason)


def _as_dict(stats: DrainStats) -> dict[str, int]:
    return {"sent": stats.sent, "reconciled": stats.reconciled, "retried": stats.retried, "dead": stats.dead}
