"""The exactly-once import: parse outside, then ONE transaction for round, pairing, file state, posts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import structlog

from bot.db import files
from bot.db import rounds as dbrounds
from bot.db.connection import Database, SyncTx, Tx
from bot.errors import IncompleteFileError, ParseError
from bot.ingest.file_outcomes import FileCtx, quarantine, resolve_quarantine
from bot.ingest.pairing_sync import parse_cached, store_round
from bot.ingest.session_posts import close_idle_sessions
from bot.stats.anomalies import NO_FINAL_NEWLINE
from bot.stats.model import FileKind, ParsedRound
from bot.stats.names import parse_filename

log = structlog.get_logger(__name__)

__all__ = [
    "ImportOutcome",
    "ImportSettings",
    "close_idle_sessions",
    "import_batch",
    "import_file",
    "import_in_transaction",
]


@dataclass(frozen=True, slots=True)
class ImportSettings:
    """Import policy (config `ingest.*`, converted to seconds by the caller)."""

    session_gap: float = 3600.0  # seconds between rounds that still belong to one session
    pairing_window: float = 2700.0  # seconds: an R2 pairs with an R1 at most this much older
    max_attempts: int = 5  # incomplete-file attempts before the file is quarantined
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0

    def retry_delay(self, previous_attempts: int) -> float:
        """Backoff before the next attempt: base · 2^attempts, capped."""
        return min(self.retry_base_seconds * 2.0 ** min(previous_attempts, 30), self.retry_max_seconds)


@dataclass(frozen=True, slots=True)
class ImportOutcome:
    """What import_file did: the file's state afterwards (a processed_files state) and why."""

    state: str
    round_id: int | None = None
    error: str | None = None
    detail: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Parsed:
    """Result of the pure step: exactly one of round / companion kind / error."""

    round: ParsedRound | None = None
    companion: FileKind | None = None
    error: ParseError | None = None
    retryable: bool = False  # the file may still be being written: retry with backoff


def _parse(filename: str, data: bytes) -> _Parsed:
    try:
        name = parse_filename(filename)
        if name.kind is not FileKind.STATS:
            return _Parsed(companion=name.kind)
        parsed = parse_cached(filename, data)
    except IncompleteFileError as exc:
        return _Parsed(error=exc, retryable=True)
    except ParseError as exc:
        return _Parsed(error=exc)
    if NO_FINAL_NEWLINE in parsed.flags:
        reason = "no final newline: possibly still being written"
        return _Parsed(error=IncompleteFileError(filename, 0, "file", reason), retryable=True)
    return _Parsed(round=parsed)


async def import_file(
    db: Database,
    *,
    server: str,
    filename: str,
    size: int,
    mtime: int,
    data: bytes,
    sha256: str,
    settings: ImportSettings,
    now: float,
) -> ImportOutcome:
    """Import one downloaded file exactly once; every outcome is recorded in the same transaction.

    Content already imported under this name → no-op. Same content under another name (any server) →
    'duplicate'. The same name with different content after import → 'quarantined' with an alert: the
    stored round is kept and only `statsbot reprocess` replaces it (silently swapping imported data
    would change posted numbers). Companions (endstats, _ws) → 'ignored'. A ParseError → 'quarantined'
    at once (deterministic); a file that looks cut short → 'failed' with backoff, quarantined after
    `max_attempts`. The parse runs first, outside the transaction; the transaction then runs in one go
    on the database thread (no await inside it, nothing can interleave).
    """
    pre = _parse(filename, data)
    outcome = await db.run_transaction(
        _import_sync, pre, server=server, filename=filename, size=size, mtime=mtime, data=data,
        sha256=sha256, settings=settings, now=now,
    )  # fmt: skip
    log.info("file_import_result", server=server, file=filename, state=outcome.state, error=outcome.error)
    return outcome


@dataclass(frozen=True, slots=True)
class FileToImport:
    """One downloaded file for import_batch."""

    server: str
    filename: str
    size: int
    mtime: int
    data: bytes
    sha256: str


async def import_batch(
    db: Database, files_: Sequence[FileToImport], *, settings: ImportSettings, now: float
) -> list[ImportOutcome]:
    """import_file for many files in ONE transaction (backfill): one commit instead of one per file.

    Same outcomes as importing them one by one in this order. All or nothing: an unexpected error
    (not a file problem, those are outcomes) rolls the whole batch back and propagates; import the
    files one by one to find the culprit.
    """
    parsed = [(f, _parse(f.filename, f.data)) for f in files_]

    def run(stx: SyncTx) -> list[ImportOutcome]:
        out = []
        for f, pre in parsed:
            outcome = _import_sync(
                stx, pre, server=f.server, filename=f.filename, size=f.size, mtime=f.mtime,
                data=f.data, sha256=f.sha256, settings=settings, now=now,
            )  # fmt: skip
            out.append(outcome)
        return out

    outcomes = await db.run_transaction(run)
    log.info("batch_imported", files=len(outcomes), imported=sum(o.state == "imported" for o in outcomes))
    return outcomes


async def import_in_transaction(
    tx: Tx,
    *,
    server: str,
    filename: str,
    size: int,
    mtime: int,
    data: bytes,
    sha256: str,
    settings: ImportSettings,
    now: float,
) -> ImportOutcome:
    """import_file's work inside a transaction the caller holds (reprocess: delete + import atomically)."""
    pre = _parse(filename, data)
    return await tx.call(
        _import_sync, pre, server=server, filename=filename, size=size, mtime=mtime, data=data,
        sha256=sha256, settings=settings, now=now,
    )  # fmt: skip


def _import_sync(
    stx: SyncTx,
    pre: _Parsed,
    *,
    server: str,
    filename: str,
    size: int,
    mtime: int,
    data: bytes,
    sha256: str,
    settings: ImportSettings,
    now: float,
) -> ImportOutcome:
    f = FileCtx(stx, server, filename, size, mtime, sha256, now)
    row = files.get_row_sync(stx, server, filename)
    if row is not None and row.is_final and row.sha256 == sha256:
        return ImportOutcome(row.state, row.round_id, row.last_error, {"noop": True})
    attempts = row.attempts if row else 0
    stored = dbrounds.get_round_by_file_sync(stx, server, filename)
    if stored is not None:
        if stored.sha256 == sha256:  # data committed but registry row lost/stale: repair, never re-import
            f.set("imported", round_id=stored.id, last_error=None, next_attempt_at=None)
            f.event("repaired", {"round_id": stored.id})
            return ImportOutcome("imported", stored.id, None, {"repaired": True})
        error = (
            f"{filename}: content changed after import (round {stored.id} kept, sha256 "
            f"{stored.sha256[:12]} → {sha256[:12]}); use `statsbot reprocess` to import the new version"
        )
        return ImportOutcome("quarantined", None, error, quarantine(f, error, attempts))
    if pre.companion is not None:
        f.set("ignored", last_error=None, next_attempt_at=None)
        f.event("ignored", {"kind": pre.companion.value})
        return ImportOutcome("ignored", detail={"kind": pre.companion.value})
    if pre.error is not None:
        attempts += 1
        if not pre.retryable or attempts >= settings.max_attempts:
            detail = quarantine(f, str(pre.error), attempts, pre.error)
            return ImportOutcome("quarantined", None, str(pre.error), detail)
        retry_at = now + settings.retry_delay(attempts - 1)
        f.set("failed", attempts=attempts, last_error=str(pre.error), next_attempt_at=retry_at)
        detail = {"error": str(pre.error), "attempts": attempts, "next_attempt_at": retry_at}
        f.event("failed", detail)
        return ImportOutcome("failed", None, str(pre.error), detail)
    assert pre.round is not None
    original = files.imported_by_sha_sync(stx, sha256)
    if original is not None:
        detail = {"original_server": original.server, "original_file": original.filename}
        f.set("duplicate", last_error=None, next_attempt_at=None)
        f.event("duplicate", {**detail, "round_id": original.round_id})
        return ImportOutcome("duplicate", None, None, detail)
    round_id = store_round(
        stx, pre.round, server, data, sha256, now=now, session_gap=settings.session_gap,
        window=dt.timedelta(seconds=settings.pairing_window),
    )  # fmt: skip
    f.set("imported", attempts=attempts, last_error=None, next_attempt_at=None, round_id=round_id)
    detail = {"round_id": round_id, "map": pre.round.name.map, "round": pre.round.name.round_number}
    f.event("imported", {**detail, "players": len(pre.round.players)})
    if row is not None and row.state in ("quarantined", "failed"):
        resolve_quarantine(f)
    return ImportOutcome("imported", round_id, None, detail)
