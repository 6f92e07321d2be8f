"""Fetch settled files into local_stats/<server>/ with bounded parallelism; record them `downloaded`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from bot.db import files as dbfiles
from bot.db.connection import Database
from bot.errors import RemoteFileChanged, SourceError
from bot.ingest import files as localfiles
from bot.ingest.files import FileTooLarge
from bot.ingest.registry import Candidate, Registry
from bot.ingest.settle import SettleGate
from bot.ingest.source import Downloaded, RemoteEntry, StatsSource

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """Candidates now backed by a local copy, and the first source failure (the cycle then fails)."""

    fetched: list[Candidate]
    downloaded: int
    failure: SourceError | None


class Fetcher:
    """Downloads for one server: at most `parallel` at once, each atomic (`.part` + rename) in the source."""

    def __init__(
        self,
        *,
        db: Database,
        source: StatsSource,
        registry: Registry,
        gate: SettleGate,
        local_stats: Path,
        parallel: int,
        wall: Callable[[], float],
    ) -> None:
        self._db = db
        self._source = source
        self._registry = registry
        self._gate = gate
        self._local_stats = local_stats
        self._sem = asyncio.Semaphore(max(1, parallel))
        self._wall = wall

    @property
    def server(self) -> str:
        return self._source.server

    async def fetch(self, ready: list[Candidate]) -> FetchResult:
        results = await asyncio.gather(*(self._one(c) for c in ready), return_exceptions=True)
        fetched: list[Candidate] = []
        downloads: list[tuple[RemoteEntry, Downloaded]] = []
        failure: SourceError | None = None
        for cand, res in zip(ready, results, strict=True):
            if isinstance(res, SourceError):
                failure = failure or res
                self._gate.restart(cand.entry.name)  # fetched again once seen unchanged
            elif isinstance(res, BaseException):
                raise res
            elif isinstance(res, Downloaded):
                downloads.append((cand.entry, res))
                fetched.append(Candidate(cand.entry, res.path))
            elif res is not None:
                fetched.append(res)
        if downloads:
            await self._record(downloads)
        return FetchResult(fetched, len(downloads), failure)

    async def _one(self, cand: Candidate) -> Candidate | Downloaded | None:
        if cand.local is not None:
            return cand  # layer 2: a local copy of the listed size; no download
        name = cand.entry.name
        dest = localfiles.safe_local_path(self._local_stats, self.server, name)
        async with self._sem:
            try:
                got = await self._source.download(name, dest, cand.entry.size)
            except RemoteFileChanged as exc:
                log.info("file_changed_during_download", file=name, reason=exc.reason)
                self._gate.restart(name)
                return None
            except FileTooLarge as exc:
                await self._refuse(cand.entry, str(exc))
                return None
        log.info("file_downloaded", file=name, size=got.size)
        return got

    async def _record(self, downloads: list[tuple[RemoteEntry, Downloaded]]) -> None:
        """One transaction for the cycle's downloads: the journey `seen → downloaded → imported` is kept."""
        now = self._wall()
        async with self._db.transaction() as tx:
            for entry, got in downloads:
                await dbfiles.set_state(
                    tx, self.server, entry.name, "downloaded",
                    now=now, size=entry.size, mtime=entry.mtime, sha256=got.sha256,
                )  # fmt: skip
                await dbfiles.add_event(
                    tx, self.server, entry.name, "downloaded", {"size": got.size, "sha256": got.sha256}, now
                )

    async def _refuse(self, entry: RemoteEntry, error: str) -> None:
        """Deterministic refusal (too large): quarantined until the file changes, not retried per poll."""
        now = self._wall()
        async with self._db.transaction() as tx:
            await dbfiles.set_state(
                tx, self.server, entry.name, "quarantined",
                now=now, size=entry.size, mtime=entry.mtime, last_error=error,
            )  # fmt: skip
            await dbfiles.add_event(tx, self.server, entry.name, "quarantined", {"error": error}, now)
        self._gate.forget(entry.name)
        self._registry.memory.set(self.server, entry.name, entry.size, entry.mtime, "quarantined")
        log.error("file_refused", file=entry.name, error=error)
