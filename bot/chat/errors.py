"""Why a post could not be delivered: the drainer retries, reconciles or dead-letters by error class."""

from __future__ import annotations


class SendError(Exception):
    """A post was not (provably) delivered. `reason` is short text for logs and the outbox row."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class TransientSendError(SendError):
    """Certainly not delivered, worth retrying (5xx, long 429, refused connection)."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class AmbiguousSendError(TransientSendError):
    """The request may have reached the chat service (timeout, connection dropped mid-request).

    Resending is only safe with the same nonce inside the service's dedupe window, or after
    reconciling against the channel's recent messages.
    """


class PermanentSendError(SendError):
    """Retrying cannot help (400 bad payload, 403 no access, 404 channel gone): dead-letter it."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
