"""Backfill: import local stats files or folders, chronologically, each exactly once (`statsbot import`)."""

from __future__ import annotations

import asyncio
import hashlib
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import structlog

from bot.db.connection import Database
from bot.errors import DatabaseError, ParseError
from bot.ingest.importer import FileToImport, ImportOutcome, ImportSettings, import_batch, import_file
from bot.ingest.prepared import PreparedBatch, exit_with_parent, prepare_batch, worker_ready
from bot.ingest.registry import MemoryCache
from bot.stats.names import parse_filename

log = structlog.get_logger(__name__)

# Called after each file: (files done, files total, file name).
Progress = Callable[[int, int, str], None]

# Files per import transaction: one commit per file dominated the backfill; 200 files are ~1 MB of data
# held in memory and under a second of work, so progress still moves and a crash redoes little.
BATCH_FILES = 200
# Worker processes parse and prepare the next batches while the database thread writes the current one:
# the import transaction is then mostly SQLite's own work, and both cores are busy. Starting them (spawn)
# delays the first batch by ~0.4 s: measured, 1,000 files import no faster with workers than without, so
# smaller backfills (and the poller's imports) prepare in-process.
POOL_MIN_FILES = 2000


@dataclass(slots=True)
class BackfillSummary:
    """What a backfill did. `skipped` = already processed before this run (idempotence)."""

    imported: int = 0
    duplicates: int = 0
    failed: int = 0
    quarantined: int = 0
    ignored: int = 0
    skipped: int = 0
    rejected: int = 0  # names that are not stats-file names: never read
    seconds: float = 0.0

    def count(self, state: str) -> None:
        field = {"duplicate": "duplicates"}.get(state, state)
        if field in ("imported", "duplicates", "failed", "quarantined", "ignored"):
            setattr(self, field, getattr(self, field) + 1)
        else:  # 'seen' / 'downloaded' cannot come back from an import; count it where it is visible
            self.failed += 1

    @property
    def processed(self) -> int:
        return self.imported + self.duplicates + self.failed + self.quarantined + self.ignored

    @property
    def examined(self) -> int:
        """Files gone through: processed now or skipped as already processed (what the progress counts)."""
        return self.processed + self.skipped

    def line(self) -> str:
        # The same quantity as the progress line (files gone through per second), never only the
        # imported ones: a re-run that skips everything is not "0 files/s".
        rate = self.examined / self.seconds if self.seconds > 0 else 0.0
        return (
            f"imported {self.imported}, duplicates {self.duplicates}, failed {self.failed}, "
            f"quarantined {self.quarantined}, ignored {self.ignored}, skipped {self.skipped} "
            f"(already processed), rejected {self.rejected} (not stats file names) "
            f"in {self.seconds:.2f} s ({self.examined} files, {rate:.0f} files/s)"
        )


def collect(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """Files under the given files/folders: (stats-file names in chronological order, rejected names).

    Raises FileNotFoundError for a path that does not exist. Folders are walked recursively; symlinks
    to files are followed only when named explicitly.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for dirpath, _dirs, names in os.walk(path):
                found.extend(Path(dirpath) / n for n in names if not n.endswith(".part"))
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(str(path))
    accepted: list[tuple[str, Path]] = []
    rejected: list[Path] = []
    for file in dict.fromkeys(found):
        try:
            parse_filename(file.name)
        except ParseError:
            rejected.append(file)
            continue
        accepted.append((file.name, file))
    # Names start with YYYY-MM-DD-HHMMSS: sorting by name is chronological (an R1 before its R2).
    accepted.sort(key=lambda item: (item[0], str(item[1])))
    return [p for _, p in accepted], rejected


async def backfill(
    db: Database,
    files: Sequence[Path],
    *,
    server: str,
    settings: ImportSettings,
    memory: MemoryCache | None = None,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.time,
    batch_size: int = BATCH_FILES,
    workers: int | None = None,
    warm_up: bool = True,
) -> BackfillSummary:
    """Import `files` (already in order) under `server`. Re-running imports nothing twice.

    Files are imported `batch_size` at a time in ONE transaction each (import_batch): a crash loses
    at most the batch in progress, which is then imported on the next run, still exactly once.
    `workers` processes prepare batches ahead (default: one per core when at least POOL_MIN_FILES
    files are given; 0 = prepare in-process); with `warm_up`, batches are prepared in-process until
    a worker is up (False: every batch waits for the workers).
    """
    started = time.perf_counter()
    memory = memory if memory is not None else await MemoryCache.load(db)
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if len(files) >= POOL_MIN_FILES else 0
    pool = _start_pool(workers)
    try:
        run = _Run(db, server, settings, memory, BackfillSummary(), clock, pool)
        if not warm_up and pool is not None:
            started_up = asyncio.wrap_future(run.start_workers())
            await asyncio.wait([started_up])
            if started_up.exception() is not None:  # the first submit then finds the pool unusable
                log.warning("backfill_workers_failed", error=repr(started_up.exception()))
        await run.all(files, batch_size, progress, ahead=workers + 1)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    run.summary.seconds = time.perf_counter() - started
    log.info("backfill_finished", server=server, files=len(files), seconds=round(run.summary.seconds, 3))
    return run.summary


def _start_pool(workers: int) -> Executor | None:
    if workers <= 0:
        return None
    # spawn, not fork: this process runs threads (the database's), and a forked child could inherit a
    # lock one of them holds. Not forkserver either: its workers are not our children, so they could
    # not notice that we were killed (exit_with_parent watches the parent pid).
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=exit_with_parent,
        initargs=(os.getpid(),),
    )


# A batch on its way: (files examined when it was closed, the last name, its files, its preparation).
_Queued = tuple[int, str, list[tuple[Path, "FileToImport"]], "asyncio.Future[PreparedBatch] | None"]


class _Run:
    """One backfill: the memory layer decides what is left, batches are imported in order."""

    def __init__(
        self,
        db: Database,
        server: str,
        settings: ImportSettings,
        memory: MemoryCache,
        summary: BackfillSummary,
        clock: Callable[[], float],
        pool: Executor | None,
    ) -> None:
        self.pool = pool
        # Workers take ~0.4 s to start (spawn); until one has answered this no-op, batches are prepared
        # in-process, so the start-up runs on the other core instead of delaying the first batches. It
        # is sent with the first batch: a re-run that finds everything done starts no process at all.
        self.warm: Future[bool] | None = None
        self.db = db
        self.server = server
        self.settings = settings
        self.memory = memory
        self.final = memory.for_server(server)
        self.summary = summary
        self.clock = clock
        self.reported = 0  # files reported done to the progress callback

    async def all(
        self, files: Sequence[Path], batch_size: int, progress: Progress | None, *, ahead: int
    ) -> None:
        """Examine every file, batch what is left, keep up to `ahead` batches in preparation."""
        total = len(files)
        queue: deque[_Queued] = deque()
        batch: list[tuple[Path, FileToImport]] = []
        for done, path in enumerate(files, 1):
            todo = self.pending(path)
            if todo is not None:
                batch.append((path, todo))
            if len(batch) >= batch_size or (done == total and batch):
                queue.append((done, path.name, batch, self.prepare(batch)))
                batch = []
                while len(queue) > ahead:
                    await self.flush_queued(queue.popleft(), total, progress)
            elif progress is not None and not batch and not queue:  # files in a batch are not done yet
                progress(done, total, path.name)
                self.reported = done
        while queue:
            await self.flush_queued(queue.popleft(), total, progress)
        if progress is not None and files and self.reported < total:  # skipped after the last batch
            progress(total, total, files[-1].name)

    def prepare(self, batch: list[tuple[Path, FileToImport]]) -> asyncio.Future[PreparedBatch] | None:
        """Hand the batch to a worker process (None: no pool, import_batch prepares it in-process)."""
        if self.pool is not None and self.warm is None:
            self.start_workers()
        if self.pool is None or self.warm is None or not self.warm.done():
            return None
        args = [(f.server, f.filename, f.data) for _, f in batch]
        loop = asyncio.get_running_loop()
        try:
            return loop.run_in_executor(self.pool, prepare_batch, args, self.settings.pairing_window)
        except (BrokenExecutor, RuntimeError) as exc:  # a worker died earlier: go on without the pool
            log.warning("backfill_pool_unusable", error=repr(exc))
            self.pool = None
            return None

    def start_workers(self) -> Future[bool]:
        assert self.pool is not None
        self.warm = self.pool.submit(worker_ready)
        return self.warm

    async def flush_queued(self, queued: _Queued, total: int, progress: Progress | None) -> None:
        done, name, batch, future = queued
        prepared = None
        if future is not None:
            try:
                prepared = await future
            except Exception as exc:  # a worker died (BrokenProcessPool) or failed: prepare here instead
                log.warning("backfill_prepare_failed", files=len(batch), error=repr(exc))
        await self.flush(batch, prepared)
        if progress is not None:
            progress(done, total, name)
            self.reported = done

    def pending(self, path: Path) -> FileToImport | None:
        """The file to import, or None when it is final and unchanged (counted as skipped)."""
        name = path.name
        st = path.stat()
        known = self.final.get(name)
        # Final and unchanged: nothing to do. A quarantined file whose size/mtime changed is re-evaluated.
        if known is not None and (known[2] != "quarantined" or known[:2] == (st.st_size, int(st.st_mtime))):
            self.summary.skipped += 1
            return None
        data = path.read_bytes()  # small files (< 1 MiB); a CLI run, so blocking the loop is fine
        sha = hashlib.sha256(data).hexdigest()
        return FileToImport(self.server, name, len(data), int(st.st_mtime), data, sha)

    async def flush(self, batch: list[tuple[Path, FileToImport]], prepared: PreparedBatch | None) -> None:
        files = [f for _, f in batch]
        try:
            outcomes = await import_batch(
                self.db, files, settings=self.settings, now=self.clock(), prepared=prepared
            )
        except DatabaseError:
            raise
        except Exception as exc:  # not a file problem (those are outcomes): find the culprit one by one
            log.warning("backfill_batch_failed", files=len(files), error=str(exc))
            outcomes = [await self._one(f) for f in files]
        for (path, f), outcome in zip(batch, outcomes, strict=True):
            self.memory.set(self.server, f.filename, f.size, f.mtime, outcome.state)
            self.summary.count(outcome.state)
            if outcome.state in ("failed", "quarantined"):
                log.warning("backfill_file_failed", file=str(path), state=outcome.state, error=outcome.error)

    async def _one(self, f: FileToImport) -> ImportOutcome:
        return await import_file(
            self.db, server=f.server, filename=f.filename, size=f.size, mtime=f.mtime, data=f.data,
            sha256=f.sha256, settings=self.settings, now=self.clock(),
        )  # fmt: skip
