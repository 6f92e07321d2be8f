"""Recording an unexpected import error (a bug or a database fault, not the file's content)."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass

import structlog

from bot.db import file_states
from bot.db import files as dbfiles
from bot.db.connection import Database, SyncTx
from bot.ingest.file_outcomes import FileCtx, quarantine
from bot.ingest.importer import ImportSettings
from bot.ingest.registry import Candidate
from bot.ingest.source import RemoteEntry

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Crash:
    state: str  # failed (retried at retry_at) or quarantined
    retry_at: float | None


async def record_import_crash(
    db: Database, server: str, cand: Candidate, exc: Exception, *, now: float, settings: ImportSettings
) -> Crash:
    """Fail the file with backoff, in its own transaction.

    A new version of an imported file cannot become `failed` (its round is kept, see
    bot/db/file_states.py): it is quarantined instead, with the usual admin alert, for an operator's look
    (`explain`, `reprocess`). If even recording it fails (the database is broken), that propagates.
    """
    entry = cand.entry
    error = f"{entry.name}: unexpected {type(exc).__name__} while importing: {exc}"
    log.error("file_import_crashed", file=entry.name, error=error, exc_info=exc)
    row = await dbfiles.get_row(db, server, entry.name)
    attempts = (row.attempts if row is not None else 0) + 1
    if row is not None and not file_states.allowed(row.state, "failed"):
        data = await asyncio.to_thread(cand.local.read_bytes) if cand.local is not None else b""
        sha256 = hashlib.sha256(data).hexdigest()
        async with db.transaction() as tx:
            await tx.call(_quarantine, server, entry, sha256, now, error, attempts)
        return Crash("quarantined", None)
    retry_at = now + settings.retry_delay(attempts - 1)
    async with db.transaction() as tx:
        await dbfiles.set_state(
            tx, server, entry.name, "failed", now=now, attempts=attempts, last_error=error,
            next_attempt_at=retry_at,
        )  # fmt: skip
        await dbfiles.add_event(tx, server, entry.name, "failed", {"error": error}, now)
    return Crash("failed", retry_at)


def _quarantine(
    stx: SyncTx, server: str, entry: RemoteEntry, sha256: str, now: float, error: str, attempts: int
) -> None:
    quarantine(FileCtx(stx, server, entry.name, entry.size, entry.mtime, sha256, now), error, attempts)
