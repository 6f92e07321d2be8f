"""A post as the drainer hands it to a sink, and the protocol every sink (console, Discord) implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.db.outbox import OutboxRow


@dataclass(frozen=True, slots=True)
class Post:
    """One outbox row, decoded. `nonce` is stable across retries and doubles as the reconcile marker."""

    id: int
    kind: str
    channel: str  # 'stats' | 'admin'
    payload: Mapping[str, Any]
    nonce: str
    attempts: int
    created_at: float
    corrects: int | None = None  # a correction: the outbox id of the post whose message it replaces

    @classmethod
    def from_row(cls, row: OutboxRow) -> Post:
        return cls(
            id=row.id,
            kind=row.kind,
            channel=row.channel,
            payload=row.payload,
            nonce=row.nonce,
            attempts=row.attempts,
            created_at=row.created_at,
            corrects=row.corrects,
        )


class Sink(Protocol):
    """Where posts go. Errors are bot.chat.errors.SendError subclasses; anything else is a bug."""

    @property
    def reconciles(self) -> bool:
        """True when the sink can look for already-delivered posts (ambiguous failures are possible)."""
        ...

    async def send(self, post: Post) -> str:
        """Deliver one post; returns the message id."""
        ...

    async def edit(self, post: Post, message_id: str) -> str:
        """Replace the message `message_id` (an earlier post's) with `post`, a correction; returns the
        message id now showing it. Repeating an edit is harmless, so it is never ambiguous."""
        ...

    async def recent_markers(self, channel: str) -> Mapping[str, str]:
        """Markers (post nonces) found in the channel's recent messages → their message ids."""
        ...

    async def close(self) -> None:
        """Release the sink's resources."""
        ...
