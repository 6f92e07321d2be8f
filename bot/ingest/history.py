"""History: files already on a server when statsbot first listed it are imported without posts.

A server with no registry row and no round (a new install, a server newly added to the config) takes
its first complete listing as its history: the newest file-name time in it is the horizon, and rounds
played up to it are imported quietly (the quiet mechanism of an accepted data loss, bot/db/continuity.py).
Once they are all imported, ONE admin post says how many (`[discord] post_history = true` turns this off:
every round is posted, as before).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import structlog

from bot.config import Settings
from bot.db import history as dbhistory
from bot.db import outbox
from bot.db.rows import played_at_text
from bot.db.tx import SyncTx
from bot.errors import ParseError
from bot.ingest import posts
from bot.stats.names import parse_filename

log = structlog.get_logger(__name__)


def quiet_history(settings: Settings) -> bool:
    """Whether a server's first listing is history (`[discord] post_history = false`, the default)."""
    return not settings.discord.post_history


def horizon(names: Iterable[str]) -> str:
    """The newest played_at of a listing's file names; '' if it holds no stats file."""
    newest: dt.datetime | None = None
    for name in names:
        try:
            played = parse_filename(name.rsplit("/", 1)[-1]).played_at
        except ParseError:
            continue
        newest = played if newest is None or played > newest else newest
    return "" if newest is None else played_at_text(newest)


def begin_sync(stx: SyncTx, server: str, until: str, now: float) -> bool:
    """In the transaction that records a complete listing's rows (with `first_seen_at` = `now`), BEFORE
    them: a server never seen gets its horizon. True when it did."""
    if dbhistory.is_known_sync(stx, server):
        return False
    dbhistory.start_sync(stx, server, until=until, now=now)
    log.info("history_horizon", server=server, until=until or None)
    return True


def announce_sync(stx: SyncTx, now: float) -> None:
    """In an import's transaction: queue the one summary of each server whose history is now imported."""
    for done in dbhistory.finish_sync(stx, now):
        log.info("history_imported", server=done.server, rounds=done.rounds, first=done.first, last=done.last)
        if not done.rounds or done.first is None or done.last is None:
            continue
        message = (
            f"Imported {done.rounds} round{'s' if done.rounds != 1 else ''} of history from {done.server} "
            f"({done.first[:10]} → {done.last[:10]}); new rounds are posted from now on."
        )
        key = f"history:{done.server}"
        outbox.enqueue_sync(
            stx, kind=posts.KIND_ALERT, channel="admin", dedupe_key=key,
            payload=posts.alert_payload(key, "info", message), now=now,
        )  # fmt: skip
