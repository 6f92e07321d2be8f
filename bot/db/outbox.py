"""Outbox SQL: posts written in the import transaction, drained to the chat sink after commit."""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from bot.db.connection import Database, Reader, SyncTx, as_async

CHANNELS: Final = ("stats", "admin")
NONCE_MAX_LENGTH: Final = 25  # Discord accepts nonces of at most 25 characters


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One post to make. `payload` is the decoded JSON object built by bot.ingest.posts."""

    id: int
    kind: str
    channel: str
    dedupe_key: str
    payload: dict[str, Any]
    nonce: str
    state: str
    attempts: int
    next_attempt_at: float
    last_error: str | None
    message_id: str | None
    created_at: float
    sent_at: float | None
    subject: str | None = None  # what the post is about, when that can change after posting
    corrects: int | None = None  # a correction: the id of the subject's first post, whose message it edits


_COLUMNS = (
    "id, kind, channel, dedupe_key, payload, nonce, state, attempts, next_attempt_at, last_error, "
    "message_id, created_at, sent_at, subject, corrects"
)


def _row(r: sqlite3.Row) -> OutboxRow:
    values = list(r)
    values[4] = json.loads(values[4])
    return OutboxRow(*values)


def new_nonce() -> str:
    """A 24-character random id (144 bits, URL-safe base64), unique per post and stable across retries."""
    return secrets.token_urlsafe(18)


def encode_payload(payload: Mapping[str, object]) -> str:
    """Canonical JSON: the same payload always gives the same bytes (retried posts are identical)."""
    return json.dumps(dict(payload), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def enqueue_sync(
    stx: SyncTx,
    *,
    kind: str,
    channel: str,
    dedupe_key: str,
    payload: Mapping[str, object],
    now: float,
    subject: str | None = None,
) -> int | None:
    """Queue a post in the caller's transaction. Returns its id, or None if `dedupe_key` was queued before
    (or, with a `subject`, when the subject's latest post already says the same)."""
    return enqueue_encoded_sync(
        stx, kind=kind, channel=channel, dedupe_key=dedupe_key, payload=encode_payload(payload), now=now,
        subject=subject,
    )  # fmt: skip


def enqueue_encoded_sync(
    stx: SyncTx,
    *,
    kind: str,
    channel: str,
    dedupe_key: str,
    payload: str,
    now: float,
    subject: str | None = None,
) -> int | None:
    """enqueue_sync for a payload already made by `encode_payload` (in a worker process, for backfill).

    With a `subject` (what the post is about, e.g. 'round:<server>:<file>'), a subject posted before is
    never posted twice: a different payload is queued as a correction of the subject's first post (the
    drainer edits that message), and the same payload as the subject's latest post is a no-op.
    """
    if channel not in CHANNELS:
        raise ValueError(f"unknown outbox channel {channel!r}")
    corrects: int | None = None
    if subject is not None:
        latest = stx.fetchone(
            "SELECT id, payload, coalesce(corrects, id) FROM outbox WHERE subject = ? "
            "ORDER BY id DESC LIMIT 1",
            (subject,),
        )
        if latest is not None:
            if latest[1] == payload:
                return None
            corrects = int(latest[2])
            # Unique per correction: the same wording may come back later (paired → orphan → paired).
            dedupe_key = f"{dedupe_key}:after:{int(latest[0])}"
    inserted = stx.fetchone(
        "INSERT INTO outbox(kind, channel, dedupe_key, payload, nonce, created_at, next_attempt_at, "
        "subject, corrects) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        (kind, channel, dedupe_key, payload, new_nonce(), now, now, subject, corrects),
    )
    return int(inserted[0]) if inserted is not None else None


enqueue = as_async(enqueue_sync)


async def due(db: Reader, *, now: float, limit: int) -> list[OutboxRow]:
    """Pending posts whose next attempt is due, oldest (lowest id) first."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?",
        (now, limit),
    )
    return [_row(r) for r in rows]


async def get(db: Reader, outbox_id: int) -> OutboxRow | None:
    """One outbox row by id."""
    r = await db.fetchone(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (outbox_id,))
    return None if r is None else _row(r)


@dataclass(frozen=True, slots=True)
class CorrectionTarget:
    """Where a correction goes: the message showing its subject now, if any, and whether an earlier post
    of the subject is still waiting to be delivered."""

    message_id: str | None
    waiting: bool


async def correction_target(db: Reader, corrects: int, before: int) -> CorrectionTarget:
    """The message of the latest delivered post among post `corrects` and its corrections older than
    `before` (a dropped or skipped one left no message)."""
    rows = await db.fetchall(
        "SELECT state, message_id FROM outbox WHERE (id = ? OR corrects = ?) AND id < ? ORDER BY id DESC",
        (corrects, corrects, before),
    )
    waiting = any(r[0] == "pending" for r in rows)
    for state, message_id in rows:
        if state == "sent" and message_id is not None and not str(message_id).startswith("skipped:"):
            return CorrectionTarget(str(message_id), waiting)
    return CorrectionTarget(None, waiting)


async def mark_sent(db: Database, outbox_id: int, message_id: str | None, now: float) -> None:
    """Record a delivered post and the message id the chat sink returned."""
    await db.execute(
        "UPDATE outbox SET state = 'sent', message_id = ?, sent_at = ?, attempts = attempts + 1, "
        "last_error = NULL WHERE id = ?",
        (message_id, now, outbox_id),
    )


async def mark_retry(db: Database, outbox_id: int, error: str, next_attempt_at: float) -> None:
    """A failed attempt: count it and wait until `next_attempt_at` (the nonce stays the same)."""
    await db.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ? "
        "WHERE id = ? AND state = 'pending'",
        (error, next_attempt_at, outbox_id),
    )


async def mark_dead(db: Database, outbox_id: int, error: str) -> None:
    """Give up on a post (permanent error); it stays in the table for inspection."""
    await db.execute(
        "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ? WHERE id = ?",
        (error, outbox_id),
    )


async def backlog(db: Reader) -> int:
    """Number of posts not yet delivered (pending, due or not)."""
    r = await db.fetchone("SELECT count(*) FROM outbox WHERE state = 'pending'")
    return 0 if r is None else int(r[0])


async def dead_letters(db: Reader, limit: int = 50) -> list[OutboxRow]:
    """Posts given up on, newest first (health, admin commands)."""
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM outbox WHERE state = 'dead' ORDER BY id DESC LIMIT ?", (limit,)
    )
    return [_row(r) for r in rows]


def last_id_sync(stx: SyncTx) -> int:
    """The highest outbox id so far (0 when empty): marks where a transaction's own posts begin."""
    r = stx.fetchone("SELECT coalesce(max(id), 0) FROM outbox")
    return 0 if r is None else int(r[0])


def drop_stats_posts_after_sync(stx: SyncTx, after_id: int) -> int:
    """Drop the stats-channel posts queued after `after_id` (admin alerts stay); returns how many."""
    return stx.execute("DELETE FROM outbox WHERE id > ? AND channel = 'stats'", (after_id,)).rowcount
