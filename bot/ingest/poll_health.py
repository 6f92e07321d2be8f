"""Per-server poll health: server_status after each cycle, one alert when unreachable, one when back."""

from __future__ import annotations

import structlog

from bot.db import outbox, status
from bot.db.connection import Database
from bot.ingest import posts

log = structlog.get_logger(__name__)


def unreachable_key(server: str) -> str:
    return f"server_unreachable:{server}"


class PollHealth:
    """Records each cycle's outcome; opens the unreachable alert after `threshold` failures in a row.

    The alert row (bot/db/status.py) is the memory: it is posted once when opened and once when
    resolved, across restarts, whatever the number of failed polls in between.
    """

    def __init__(self, db: Database, server: str, threshold: int) -> None:
        self._db = db
        self._server = server
        self._threshold = max(1, threshold)
        self._maybe_open = True  # an alert may be open from a previous run: check on the first success

    async def record(
        self, ok: bool, error: str | None, listing_count: int | None, seconds: float, *, now: float
    ) -> None:
        key = unreachable_key(self._server)
        async with self._db.transaction() as tx:
            if ok:
                await status.record_poll_success(
                    tx, self._server, now=now, listing_count=listing_count, seconds=seconds
                )
                if not self._maybe_open:
                    return
                self._maybe_open = False
                if await status.resolve_alert(tx, key, now):
                    message = f"server {self._server} is reachable again"
                    await outbox.enqueue(
                        tx, kind=posts.KIND_ALERT_RESOLVED, channel="admin",
                        dedupe_key=f"alert_resolved:{key}:{now:.6f}",
                        payload=posts.alert_payload(key, "info", message), now=now,
                    )  # fmt: skip
                    log.info("alert_resolved", key=key)
                return
            failures = await status.record_poll_failure(
                tx, self._server, now=now, error=error or "unknown error", seconds=seconds
            )
            self._maybe_open = True
            if failures < self._threshold:
                return
            message = f"server {self._server} unreachable for {failures} polls: {error}"
            if error is not None and "remote_dir " in error and " not found on " in error:  # it did answer
                message = (
                    f"server {self._server} answered, but for {failures} polls: {error} — fix remote_dir of "
                    f"server {self._server} in the config (`statsbot diagnose` names the key)"
                )
            if await status.open_alert(tx, key, "error", message, now):
                await outbox.enqueue(
                    tx, kind=posts.KIND_ALERT, channel="admin", dedupe_key=f"alert:{key}:{now:.6f}",
                    payload=posts.alert_payload(key, "error", message), now=now,
                )  # fmt: skip
                log.error("alert_opened", key=key, failures=failures, error=error)
