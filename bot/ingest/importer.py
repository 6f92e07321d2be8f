"""The exactly-once import: parse outside, then ONE transaction for round, pairing, file state, posts."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import structlog

from bot.db import continuity, files, outbox
from bot.db import rounds as dbrounds
from bot.db import sessions as dbsessions
from bot.db.connection import Database, SyncTx, Tx
from bot.ingest import history
from bot.ingest.file_outcomes import FileCtx, quarantine, resolve_quarantine
from bot.ingest.order import AwaitedRound1
from bot.ingest.pairing_sync import BatchState, orphan_stale_pending_sync, store_round
from bot.ingest.prepared import PreparedBatch, PreparedFile, prepare_batch
from bot.ingest.session_posts import close_idle_sessions

log = structlog.get_logger(__name__)

__all__ = [
    "ImportOutcome",
    "ImportSettings",
    "close_idle_sessions",
    "import_batch",
    "import_file",
    "import_in_transaction",
    "sweep_pending_round2",
]


@dataclass(frozen=True, slots=True)
class ImportSettings:
    """Import policy (config `ingest.*`, converted to seconds by the caller)."""

    session_gap: float = 3600.0  # seconds between rounds that still belong to one session
    pairing_window: float = 2700.0  # seconds: an R2 pairs with an R1 at most this much older
    max_attempts: int = 5  # incomplete-file attempts before the file is quarantined
    retry_base_seconds: float = 30.0
    retry_max_seconds: float = 3600.0
    # False for a backfill of history (`statsbot import --no-posts`): rounds, matches and sessions are
    # imported without queueing their posts; admin alerts (quarantine) are still queued.
    post_stats: bool = True

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


def _prepare_one(server: str, filename: str, data: bytes, settings: ImportSettings) -> PreparedBatch:
    return prepare_batch([(server, filename, data)], settings.pairing_window, foresee_pairs=False)


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
    awaited_round1: AwaitedRound1 | None = None,
) -> ImportOutcome:
    """Import one downloaded file exactly once; every outcome is recorded in the same transaction.

    `awaited_round1`: the server's round 1 files listed and not imported yet, by map; a round 2 is not
    made an orphan while one of them may be its round 1.

    Content already imported under this name → no-op. Same content under another name (any server) →
    'duplicate'. The same name with different content after import → 'quarantined' with an alert: the
    stored round is kept and only `statsbot reprocess` replaces it (silently swapping imported data
    would change posted numbers). Companions (endstats, _ws) → 'ignored'. A ParseError → 'quarantined'
    at once (deterministic); a file that looks cut short → 'failed' with backoff, quarantined after
    `max_attempts`. The parse runs first, outside the transaction; the transaction then runs in one go
    on the database thread (no await inside it, nothing can interleave).
    """
    pre = _prepare_one(server, filename, data, settings)

    batch = BatchState(awaited={server: awaited_round1 or {}}, notes=settings.post_stats)

    def run(stx: SyncTx) -> ImportOutcome:
        return _import_sync(
            stx, pre.files[0], batch, server=server, filename=filename, size=size, mtime=mtime,
            data=data, sha256=sha256, settings=settings, now=now,
        )  # fmt: skip

    [outcome] = await db.run_transaction(_with_post_policy, settings, lambda stx: [run(stx)], now)
    # A quarantined or failed file needs an operator's eye (or a retry): not routine, so not info.
    level = log.info if outcome.error is None else log.warning
    level("file_import_result", server=server, file=filename, state=outcome.state, error=outcome.error)
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
    db: Database,
    files_: Sequence[FileToImport],
    *,
    settings: ImportSettings,
    now: float,
    prepared: PreparedBatch | None = None,
) -> list[ImportOutcome]:
    """import_file for many files in ONE transaction (backfill): one commit instead of one per file.

    Same outcomes as importing them one by one in this order. All or nothing: an unexpected error
    (not a file problem, those are outcomes) rolls the whole batch back and propagates; import the
    files one by one to find the culprit. `prepared` is `prepare_batch` of these files (made in a
    worker process by the backfill); without it the preparation runs here.
    """
    if prepared is None:
        prepared = prepare_batch([(f.server, f.filename, f.data) for f in files_], settings.pairing_window)
    if len(prepared.files) != len(files_):
        raise ValueError(f"prepared {len(prepared.files)} files for a batch of {len(files_)}")
    work = prepared

    def run(stx: SyncTx) -> list[ImportOutcome]:
        batch = BatchState(pairs=work.pairs, notes=settings.post_stats)
        known = _Known.load(stx, files_)
        out = []
        for f, pre in zip(files_, work.files, strict=True):
            outcome = _import_sync(
                stx, pre, batch, server=f.server, filename=f.filename, size=f.size, mtime=f.mtime,
                data=f.data, sha256=f.sha256, settings=settings, now=now, known=known,
            )  # fmt: skip
            out.append(outcome)
        return out

    outcomes = await db.run_transaction(_with_post_policy, settings, run, now)
    log.info("batch_imported", files=len(outcomes), imported=sum(o.state == "imported" for o in outcomes))
    return outcomes


def _with_post_policy(
    stx: SyncTx, settings: ImportSettings, body: Callable[[SyncTx], list[ImportOutcome]], now: float
) -> list[ImportOutcome]:
    """Run an import body; without `post_stats`, or when it imported a quiet round (posted before an
    accepted data loss, or history: bot/db/continuity.py, bot/ingest/history.py), drop the stats posts
    it queued, in the same transaction, and mark its sessions summarised so the idle-session job does
    not post history later. A server whose history is then all imported gets its one summary."""
    first_post = outbox.last_id_sync(stx)
    outcomes = body(stx)
    round_ids = [o.round_id for o in outcomes if o.round_id is not None]
    if not settings.post_stats or continuity.quiet_rounds_sync(stx, round_ids):
        outbox.drop_stats_posts_after_sync(stx, first_post)
        dbsessions.close_sessions_of_rounds_sync(stx, round_ids)
    history.announce_sync(stx, now)
    return outcomes


async def sweep_pending_round2(
    db: Database,
    *,
    older_than_seconds: float,
    now: float,
    pairing_window: float = 0.0,
    awaited: Mapping[str, AwaitedRound1] | None = None,
) -> list[int]:
    """Mark round 2s pending for longer than `older_than_seconds` (since import) 'orphan' and queue
    their post, in ONE transaction; returns their round ids. The daemon runs it with the pairing
    window as the grace period: a round 1 normally lands seconds after its round 2. A round 2 whose
    round 1 (within `pairing_window`) may be among its server's `awaited` round 1 files (by map) keeps
    waiting."""
    stale = await db.run_transaction(
        _sweep_sync, imported_before=now - older_than_seconds, now=now,
        window=dt.timedelta(seconds=pairing_window), awaited=awaited,
    )  # fmt: skip
    for r2 in stale:
        log.info("round2_orphaned", server=r2.server, file=r2.filename, round_id=r2.id)
    return [r2.id for r2 in stale]


def _sweep_sync(
    stx: SyncTx,
    *,
    imported_before: float,
    now: float,
    window: dt.timedelta,
    awaited: Mapping[str, AwaitedRound1] | None,
) -> list[dbrounds.RoundRow]:
    # Orphans that were posted before an accepted data loss (imported again as pending) are not posted
    # a second time; a sweep mixing them with new ones posts all (never drops a new post).
    first_post = outbox.last_id_sync(stx)
    stale = orphan_stale_pending_sync(
        stx, imported_before=imported_before, now=now, window=window, awaited=awaited
    )
    ids = [r2.id for r2 in stale]
    if ids and continuity.quiet_rounds_sync(stx, ids) == set(ids):
        outbox.drop_stats_posts_after_sync(stx, first_post)
    return stale


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
    pre = _prepare_one(server, filename, data, settings)
    return await tx.call(
        _import_sync, pre.files[0], BatchState(notes=settings.post_stats), server=server,
        filename=filename, size=size, mtime=mtime, data=data, sha256=sha256, settings=settings, now=now,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Known:
    """A batch's registry rows, stored rounds and content hashes, read in 3 queries instead of 3 per file.

    Only for names and hashes that occur once in the batch: nothing else in the batch writes their rows,
    so what was read up front stays true. A name or hash seen twice is looked up when its turn comes.
    """

    rows: dict[tuple[str, str], files.FileRow]
    stored: dict[tuple[str, str], dbrounds.RoundRow]
    by_sha: dict[str, files.ImportedContent]
    once: frozenset[tuple[str, str]]
    once_sha: frozenset[str]

    @classmethod
    def load(cls, stx: SyncTx, batch: Sequence[FileToImport]) -> _Known:
        names = Counter((f.server, f.filename) for f in batch)
        hashes = Counter(f.sha256 for f in batch)
        once = frozenset(k for k, n in names.items() if n == 1)
        by_server: dict[str, list[str]] = {}
        for server, filename in once:
            by_server.setdefault(server, []).append(filename)
        rows: dict[tuple[str, str], files.FileRow] = {}
        stored: dict[tuple[str, str], dbrounds.RoundRow] = {}
        for server, names_ in by_server.items():
            rows.update(((server, k), v) for k, v in files.get_rows_sync(stx, server, names_).items())
            stored.update(
                ((server, k), v) for k, v in dbrounds.rounds_by_files_sync(stx, server, names_).items()
            )
        once_sha = frozenset(h for h, n in hashes.items() if n == 1)
        return cls(rows, stored, files.imported_by_shas_sync(stx, once_sha), once, once_sha)

    def row(self, stx: SyncTx, server: str, filename: str) -> files.FileRow | None:
        if (server, filename) in self.once:
            return self.rows.get((server, filename))
        return files.get_row_sync(stx, server, filename)

    def round(self, stx: SyncTx, server: str, filename: str) -> dbrounds.RoundRow | None:
        if (server, filename) in self.once:
            return self.stored.get((server, filename))
        return dbrounds.get_round_by_file_sync(stx, server, filename)

    def content(self, stx: SyncTx, sha256: str) -> files.ImportedContent | None:
        if sha256 in self.once_sha:
            return self.by_sha.get(sha256)
        return files.imported_by_sha_sync(stx, sha256)


_NOTHING_KNOWN = _Known({}, {}, {}, frozenset(), frozenset())  # one file: every lookup is a query


def _import_sync(
    stx: SyncTx,
    pre: PreparedFile,
    batch: BatchState,
    *,
    server: str,
    filename: str,
    size: int,
    mtime: int,
    data: bytes,
    sha256: str,
    settings: ImportSettings,
    now: float,
    known: _Known = _NOTHING_KNOWN,
) -> ImportOutcome:
    f = FileCtx(stx, server, filename, size, mtime, sha256, now)
    row = known.row(stx, server, filename)
    if row is not None and row.is_final and row.sha256 == sha256:
        return ImportOutcome(row.state, row.round_id, row.last_error, {"noop": True})
    attempts = row.attempts if row else 0
    stored = (
        known.round(stx, server, filename)
        if known
        else dbrounds.get_round_by_file_sync(stx, server, filename)
    )
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
        f.event("ignored", {"kind": pre.companion})
        return ImportOutcome("ignored", detail={"kind": pre.companion})
    if pre.error is not None:
        attempts += 1
        exc = pre.error.exception()
        if not pre.error.retryable or attempts >= settings.max_attempts:
            detail = quarantine(f, str(exc), attempts, exc)
            return ImportOutcome("quarantined", None, str(exc), detail)
        retry_at = now + settings.retry_delay(attempts - 1)
        f.set("failed", attempts=attempts, last_error=str(exc), next_attempt_at=retry_at)
        detail = {"error": str(exc), "attempts": attempts, "next_attempt_at": retry_at}
        f.event("failed", detail)
        return ImportOutcome("failed", None, str(exc), detail)
    assert pre.round is not None
    original = known.content(stx, sha256)
    if original is not None:
        detail = {"original_server": original.server, "original_file": original.filename}
        f.set("duplicate", last_error=None, next_attempt_at=None)
        f.event("duplicate", {**detail, "round_id": original.round_id})
        return ImportOutcome("duplicate", None, None, detail)
    round_id = store_round(
        stx, pre.round, data, server, sha256, now=now, session_gap=settings.session_gap,
        window=dt.timedelta(seconds=settings.pairing_window), batch=batch,
    )  # fmt: skip
    f.set("imported", attempts=attempts, last_error=None, next_attempt_at=None, round_id=round_id)
    values = pre.round.values
    detail = {"round_id": round_id, "map": values.map, "round": values.round_number}
    f.event("imported", {**detail, "players": pre.round.player_count})
    if row is not None:
        # Whatever the row's state now (the daemon moves a fixed file to 'downloaded' before importing
        # it), an open quarantine alert for this file is resolved: one indexed lookup.
        resolve_quarantine(f)
    return ImportOutcome("imported", round_id, None, detail)
