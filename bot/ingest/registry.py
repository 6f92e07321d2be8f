"""The layered "already processed?" check: memory, local disk, processed_files, imported rounds."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from bot.db import files as dbfiles
from bot.db.connection import Database
from bot.ingest.source import RemoteEntry

log = structlog.get_logger(__name__)

FINAL_STATES = frozenset(dbfiles.FINAL_STATES)

# (size, mtime, state) of a file whose state is final; the memory layer.
FinalKey = tuple[int | None, int | None, str]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A listed file the registry did not rule out; `local` is a usable local copy (same size)."""

    entry: RemoteEntry
    local: Path | None = None


@dataclass(slots=True)
class Plan:
    """What the registry decided for one listing, per layer, plus the counts the cycle logs."""

    settle: list[Candidate] = field(default_factory=list)  # new, `seen`, or changed: settle gate first
    fetch: list[Candidate] = field(default_factory=list)  # `failed` and due: fetch again (was settled)
    import_local: list[Candidate] = field(default_factory=list)  # `downloaded`: import the local copy
    waiting: dict[str, float] = field(default_factory=dict)  # `failed`, not due: name -> next_attempt_at
    memory: int = 0
    local: int = 0
    table: int = 0
    rounds: int = 0
    new: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "memory": self.memory,
            "local": self.local,
            "table": self.table,
            "rounds": self.rounds,
            "new": self.new,
        }


class MemoryCache:
    """Final (server, filename) keys, loaded from SQLite in ONE query at start, then kept current."""

    def __init__(self, keys: Mapping[tuple[str, str], FinalKey] | None = None) -> None:
        self._by_server: dict[str, dict[str, FinalKey]] = {}
        for (server, filename), value in (keys or {}).items():
            self._by_server.setdefault(server, {})[filename] = value

    @classmethod
    async def load(cls, db: Database) -> MemoryCache:
        started = time.perf_counter()
        cache = cls(await dbfiles.load_final_keys(db))
        log.info("memory_cache_loaded", files=len(cache), seconds=round(time.perf_counter() - started, 3))
        return cache

    def for_server(self, server: str) -> dict[str, FinalKey]:
        return self._by_server.setdefault(server, {})

    def get(self, server: str, filename: str) -> FinalKey | None:
        return self._by_server.get(server, {}).get(filename)

    def set(self, server: str, filename: str, size: int | None, mtime: int | None, state: str) -> None:
        if state in FINAL_STATES:
            self.for_server(server)[filename] = (size, mtime, state)
        else:
            self.for_server(server).pop(filename, None)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_server.values())


class Registry:
    """The processed-check for one server. A poll cycle costs O(1) queries for files already done."""

    def __init__(self, db: Database, server: str, local_dir: Path, memory: MemoryCache) -> None:
        self._db = db
        self._server = server
        self._local_dir = local_dir
        self._memory = memory
        self._final = memory.for_server(server)

    @property
    def memory(self) -> MemoryCache:
        return self._memory

    def is_done(self, name: str, size: int, mtime: int) -> bool:
        """Layer 1 alone: final in memory. A quarantined file only while its size and mtime are unchanged;
        an imported file only while its size is (a rewrite on the server goes to the importer, which
        keeps the round, quarantines the new version and alerts once; a `touch` changes nothing)."""
        known = self._final.get(name)
        if known is None:
            return False
        if known[2] == "quarantined":
            return known[0] == size and known[1] == mtime
        if known[2] == "imported":
            return known[0] is None or known[0] == size
        return True

    def local_copy(self, name: str, size: int) -> Path | None:
        """Layer 2: local_stats/<server>/<name> of the remote size: saves a download, proves nothing."""
        path = self._local_dir / name
        try:
            st = os.stat(path)
        except OSError:
            return None
        return path if st.st_size == size else None

    async def plan(self, entries: Iterable[RemoteEntry], *, now: float) -> Plan:
        """Classify listed entries (names already validated). `now` is wall-clock epoch seconds,
        compared only with next_attempt_at values this process wrote itself."""
        plan = Plan()
        rest: list[RemoteEntry] = []
        for entry in entries:
            if self.is_done(entry.name, entry.size, entry.mtime):
                plan.memory += 1
            else:
                rest.append(entry)
        if not rest:
            self._log(plan)
            return plan
        # Layer 3 in ONE batched query for everything the memory layer did not settle.
        rows = await dbfiles.get_rows(self._db, self._server, [e.name for e in rest])
        unknown: list[RemoteEntry] = []
        for entry in rest:
            row = rows.get(entry.name)
            if row is None:
                unknown.append(entry)
                continue
            self._decide_by_row(plan, entry, row, now)
        # Layer 4: a round imported from this file but no registry row (an older database, a lost row).
        # ONE query for all never-seen names; only the (rare) repairs cost a transaction each.
        with_round = await dbfiles.rounds_for_files(self._db, self._server, [e.name for e in unknown])
        new_entries: list[RemoteEntry] = []
        repaired: list[RemoteEntry] = []
        for entry in unknown:
            if entry.name not in with_round:
                new_entries.append(entry)
            elif await dbfiles.repair_imported(self._db, self._server, entry.name, now=now) is not None:
                repaired.append(entry)
                self._memory.set(self._server, entry.name, entry.size, entry.mtime, "imported")
                log.warning("registry_repaired", server=self._server, file=entry.name)
        if new_entries:
            async with self._db.transaction() as tx:
                seen = [(e.name, e.size, e.mtime) for e in new_entries]
                await dbfiles.record_seen(tx, self._server, seen, now)
        plan.rounds = len(repaired)
        plan.new = len(new_entries)
        for entry in new_entries:
            plan.settle.append(self._candidate(plan, entry))
        self._log(plan)
        return plan

    def _decide_by_row(self, plan: Plan, entry: RemoteEntry, row: dbfiles.FileRow, now: float) -> None:
        plan.table += 1
        state = row.state
        changed = row.size != entry.size or row.mtime != entry.mtime
        if state == "imported" and row.size is not None and row.size != entry.size:
            log.warning(
                "imported_file_changed_on_server", server=self._server, file=entry.name,
                imported_size=row.size, listed_size=entry.size,
            )  # fmt: skip
            plan.settle.append(self._candidate(plan, entry))  # the importer decides: kept + quarantined
        elif state in ("imported", "duplicate", "ignored"):
            # Final but missing from memory (another process, or memory built before it finished).
            self._memory.set(self._server, entry.name, row.size, row.mtime, state)
        elif state == "quarantined":
            if changed:
                plan.settle.append(self._candidate(plan, entry))  # new content: evaluate again
            else:
                self._memory.set(self._server, entry.name, row.size, row.mtime, state)
        elif state == "seen":
            plan.settle.append(self._candidate(plan, entry))
        elif state == "downloaded":
            local = None if changed else self.local_copy(entry.name, entry.size)
            if local is not None:
                plan.local += 1
                plan.import_local.append(Candidate(entry, local))
            else:
                plan.settle.append(self._candidate(plan, entry))
        elif state == "failed":
            due = row.next_attempt_at is None or row.next_attempt_at <= now
            if changed:
                plan.settle.append(self._candidate(plan, entry))
            elif due:
                plan.fetch.append(self._candidate(plan, entry))
            else:
                plan.waiting[entry.name] = float(row.next_attempt_at or now)
        else:  # an unknown state from a newer schema: leave it alone rather than guess
            log.warning("registry_unknown_state", server=self._server, file=entry.name, state=state)

    def _candidate(self, plan: Plan, entry: RemoteEntry) -> Candidate:
        local = self.local_copy(entry.name, entry.size)
        if local is not None:
            plan.local += 1
        return Candidate(entry, local)

    def _log(self, plan: Plan) -> None:
        log.info("cycle_decisions", server=self._server, **plan.counts())
