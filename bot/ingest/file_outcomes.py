"""A file's outcome inside the import transaction: state + event rows, quarantine alerts and posts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.db import files, outbox, status
from bot.db.connection import SyncTx
from bot.errors import ParseError
from bot.ingest import posts


@dataclass(frozen=True, slots=True)
class FileCtx:
    """The file being imported, inside its transaction: state and event writes with its size/mtime/hash."""

    stx: SyncTx
    server: str
    filename: str
    size: int
    mtime: int
    sha256: str
    now: float

    def set(self, state: str, **columns: Any) -> None:
        files.set_state_sync(
            self.stx, self.server, self.filename, state, now=self.now, size=self.size, mtime=self.mtime,
            sha256=self.sha256, **columns,
        )  # fmt: skip

    def event(self, event: str, detail: Mapping[str, object]) -> None:
        files.add_event_sync(self.stx, self.server, self.filename, event, detail, self.now)


def quarantine_key(server: str, filename: str) -> str:
    return f"quarantined:{server}:{filename}"


def quarantine(f: FileCtx, error: str, attempts: int, exc: ParseError | None = None) -> dict[str, object]:
    """Final 'quarantined' state, its event, an alert and ONE admin post per distinct error (a file
    rewritten on the server and quarantined again for another reason is posted again).

    Returns the event detail (error, attempts, and line/field/reason for a ParseError).
    """
    f.set("quarantined", attempts=attempts, last_error=error, next_attempt_at=None)
    detail: dict[str, object] = {"error": error, "attempts": attempts}
    if exc is not None:
        detail.update(line=exc.line, field=exc.field, reason=exc.reason)
    f.event("quarantined", detail)
    key = quarantine_key(f.server, f.filename)
    message = f"{f.server}: {error}"
    if status.open_alert_sync(f.stx, key, "warning", message, f.now, repost_on_change=True):
        outbox.enqueue_sync(
            f.stx,
            kind=posts.KIND_ALERT,
            channel="admin",
            dedupe_key=f"alert:{key}:{f.now}",
            payload=posts.alert_payload(key, "warning", message),
            now=f.now,
        )
    return detail


def resolve_quarantine(f: FileCtx) -> None:
    key = quarantine_key(f.server, f.filename)
    if status.resolve_alert_sync(f.stx, key, f.now):
        message = f"{f.server}: {f.filename} imported after a new version arrived"
        outbox.enqueue_sync(
            f.stx,
            kind=posts.KIND_ALERT_RESOLVED,
            channel="admin",
            dedupe_key=f"alert_resolved:{key}:{f.now}",
            payload=posts.alert_payload(key, "warning", message),
            now=f.now,
        )
