"""Per-server poll health: server_status after each cycle, one alert when unreachable, one when back."""

from __future__ import annotations

import structlog

from bot.db import outbox, status
from bot.db.connection import Database, Tx
from bot.ingest import posts

log = structlog.get_logger(__name__)


def unreachable_key(server: str) -> str:
    return f"server_unreachable:{server}"


def local_disk_key(server: str) -> str:
    return f"local_disk:{server}"


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
        self._local_maybe_open = True

    async def record(
        self,
        ok: bool,
        error: str | None,
        listing_count: int | None,
        seconds: float,
        *,
        now: float,
        local: bool = False,
        wrote: bool = True,
    ) -> None:
        """`local`: the cycle failed on our own disk (local_stats/): the `local_disk:<server>` alert
        opens at once, naming the path; the server is not called unreachable for it. It resolves only
        after a cycle that `wrote` (downloaded, or had nothing left to download), so a cycle that only
        looked again does not resolve it to reopen it on the next download."""
        async with self._db.transaction() as tx:
            if ok:
                await status.record_poll_success(
                    tx, self._server, now=now, listing_count=listing_count, seconds=seconds
                )
                if self._maybe_open:
                    self._maybe_open = False
                    message = f"server {self._server} is reachable again"
                    await self._resolve(tx, unreachable_key(self._server), message, now)
                if self._local_maybe_open and wrote:
                    self._local_maybe_open = False
                    message = f"downloads of server {self._server} are written to the local disk again"
                    await self._resolve(tx, local_disk_key(self._server), message, now)
                return
            failures = await status.record_poll_failure(
                tx, self._server, now=now, error=error or "unknown error", seconds=seconds
            )
            if local:
                self._local_maybe_open = True
                await self._open(tx, local_disk_key(self._server), error or "local disk error", now)
                return
            self._maybe_open = True
            if failures >= self._threshold:
                message = f"server {self._server} unreachable for {failures} polls: {error}"
                if error is not None and "remote_dir " in error and " not found on " in error:  # it answered
                    message = (
                        f"server {self._server} answered, but for {failures} polls: {error} — fix remote_dir "
                        f"of server {self._server} in the config (`statsbot diagnose` names the key)"
                    )
                await self._open(tx, unreachable_key(self._server), message, now)

    async def _open(self, tx: Tx, key: str, message: str, now: float) -> None:
        if await status.open_alert(tx, key, "error", message, now):
            await outbox.enqueue(
                tx, kind=posts.KIND_ALERT, channel="admin", dedupe_key=f"alert:{key}:{now:.6f}",
                payload=posts.alert_payload(key, "error", message), now=now,
            )  # fmt: skip
            log.error("alert_opened", key=key, error=message)

    async def _resolve(self, tx: Tx, key: str, message: str, now: float) -> None:
        if await status.resolve_alert(tx, key, now):
            await outbox.enqueue(
                tx, kind=posts.KIND_ALERT_RESOLVED, channel="admin",
                dedupe_key=f"alert_resolved:{key}:{now:.6f}",
                payload=posts.alert_payload(key, "info", message), now=now,
            )  # fmt: skip
            log.info("alert_resolved", key=key)
