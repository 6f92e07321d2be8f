"""The layered "already processed?" check: memory, local disk, processed_files, imported rounds."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from bot.db import files as dbfiles
from bot.db import remote_files
from bot.db.connection import Database
from bot.ingest import history
from bot.ingest.source import RemoteEntry

log = structlog.get_logger(__name__)

FINAL_STATES = frozenset(dbfiles.FINAL_STATES)
# Files whose content is in the database: when the server stops listing one, the registry records it.
ON_SERVER_STATES = frozenset({"imported", "duplicate"})

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
    gone: int = 0  # recorded as no longer on the server (complete listings only)
    back: int = 0  # recorded gone before, listed again

    def counts(self) -> dict[str, int]:
        return {
            "memory": self.memory,
            "local": self.local,
            "table": self.table,
            "rounds": self.rounds,
            "new": self.new,
            "gone": self.gone,
            "back": self.back,
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

    def __init__(
        self, db: Database, server: str, local_dir: Path, memory: MemoryCache, *, quiet_history: bool = False
    ) -> None:
        """`quiet_history`: a server never seen takes its first complete listing as history (imported
        without posts, bot/ingest/history.py); False posts every round."""
        self._db = db
        self._server = server
        self._local_dir = local_dir
        self._memory = memory
        self._final = memory.for_server(server)
        self._gone: dict[str, str] | None = None  # name -> remote_gone_by; loaded at the first listing
        self._elsewhere: set[str] = set()  # final, never seen on the server (`statsbot import` of a folder)
        self._listed_once = False  # a complete listing was checked for deletions in this process
        self._history_checked = not quiet_history  # whether this server's history horizon is recorded

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

    async def plan(self, entries: Iterable[RemoteEntry], *, now: float, complete: bool = False) -> Plan:
        """Classify listed entries (names already validated). `now` is wall-clock epoch seconds,
        compared only with next_attempt_at values this process wrote itself.

        `complete`: the entries are a whole, successful listing of the folder. Then files whose content
        is in the database and that the server no longer lists are recorded gone (and files listed again
        cleared), in the same transaction as the listing's new rows. A listing with no file at all is
        never taken for "everything was deleted" (a wrong or unmounted folder).
        """
        entries = list(entries)
        plan = Plan()
        rest: list[RemoteEntry] = []
        for entry in entries:
            if self.is_done(entry.name, entry.size, entry.mtime):
                plan.memory += 1
            else:
                rest.append(entry)
        gone, back = await self._deletions(entries) if complete and entries else ({}, [])
        begin = complete and not self._history_checked
        if not rest and not gone and not back and not begin:
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
            if entry.name in with_round and await self._repair(entry, now):
                repaired.append(entry)
            else:
                # No round, or the server's file differs from the imported content: a new file to the
                # settle gate; the importer then keeps the round and quarantines the new version.
                new_entries.append(entry)
        if new_entries or gone or back or begin:
            until = history.horizon(e.name for e in entries) if begin else ""
            async with self._db.transaction() as tx:
                if begin:  # before the listing's rows: a server with rows is not new
                    await tx.call(history.begin_sync, self._server, until, now)
                seen = [(e.name, e.size, e.mtime) for e in new_entries]
                await dbfiles.record_seen(tx, self._server, seen, now)
                plan.gone = await remote_files.mark_gone(tx, self._server, gone, now)
                plan.back = await remote_files.mark_back(tx, self._server, back, now)
            self._note_deletions(gone, back)
            self._history_checked = True
        plan.rounds = len(repaired)
        plan.new = len(new_entries)
        for entry in new_entries:
            plan.settle.append(self._candidate(plan, entry))
        self._log(plan)
        return plan

    async def _repair(self, entry: RemoteEntry, now: float) -> bool:
        """Layer 4 repair, complete (size, mtime, sha256) or not at all when the server's file differs."""
        async with self._db.transaction() as tx:
            round_id = await remote_files.repair_from_round(
                tx, self._server, entry.name, size=entry.size, mtime=entry.mtime, now=now
            )
        if round_id is None:
            log.warning("imported_file_differs_on_server", server=self._server, file=entry.name)
            return False
        self._memory.set(self._server, entry.name, entry.size, entry.mtime, "imported")
        log.warning("registry_repaired", server=self._server, file=entry.name, round_id=round_id)
        return True

    async def _deletions(self, entries: list[RemoteEntry]) -> tuple[dict[str, str], list[str]]:
        """(files to record gone -> 'server', files listed again) for a complete listing. No query unless
        something changed, except once per process: the rows already recorded gone."""
        if self._gone is None:
            self._gone = await remote_files.gone_names(self._db, self._server)
        listed = {e.name for e in entries}
        back = [n for n in self._gone if n in listed]
        if self._elsewhere:  # a backfilled file that shows up on the server is tracked from now on
            self._elsewhere = {n for n in self._elsewhere if n not in listed}
        gone, elsewhere = self._gone, self._elsewhere
        missing = [
            n
            for n, key in self._final.items()
            if key[2] in ON_SERVER_STATES and n not in listed and n not in gone and n not in elsewhere
        ]
        if not missing:
            self._listed_once = True
            return {}, back
        if self._listed_once:  # on the server at this process's first listing (or imported since): gone
            return dict.fromkeys(missing, "server"), back
        # Before this process ever listed the folder, only files the daemon saw there before can be gone
        # from it: a folder imported with `statsbot import` holds files the server may never have had
        # (remembered, so they cost this query once).
        self._listed_once = True
        known = await remote_files.came_from_server(self._db, self._server, missing)
        self._elsewhere.update(n for n in missing if n not in known)
        return {n: "server" for n in missing if n in known}, back

    def _note_deletions(self, gone: Mapping[str, str], back: Iterable[str]) -> None:
        assert self._gone is not None or not (gone or back)
        if self._gone is None:
            return
        self._gone.update(gone)
        for name in back:
            self._gone.pop(name, None)
        if gone:
            log.warning("remote_files_gone", server=self._server, files=len(gone), first=min(gone))

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
