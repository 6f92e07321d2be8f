"""`statsbot registry check|repair`: find registry drift against the imported data and fix it (idempotent)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from bot.db import ops_queries, remote_files
from bot.db import orphans as dborphans
from bot.db import rounds as dbrounds
from bot.db.connection import Database, Reader
from bot.db.files import UNSET, add_event, set_state
from bot.ingest.source import StatsSource
from bot.ops.diagnose import snapshot
from bot.ops.drift import Kind, ServerSnapshot, registry_problem
from bot.ops.drift_remote import compare_remote

log = structlog.get_logger(__name__)

RECORD_IMPORTED = "record_imported"
FORGET = "forget"
ACCEPT_GONE = "accept_gone"

# (server) -> a source to list it, or None (not configured, disabled, --no-remote): gone files are then
# taken from what the daemon recorded.
SourceFor = Callable[[str], StatsSource | None]


@dataclass(frozen=True, slots=True)
class RegistryChange:
    """One change that brings the registry in line with the data."""

    server: str
    filename: str
    action: str  # record_imported | forget | accept_gone
    reason: str
    round_id: int | None = None
    sha256: str | None = None
    size: int | None = None  # of the imported content, when known (else taken from the stored content)
    mtime: int | None = None  # the server's, when it lists the file with the imported size

    def describe(self) -> str:
        if self.action == RECORD_IMPORTED:
            return (
                f"{self.server}/{self.filename}: record as imported (round #{self.round_id}) — {self.reason}"
            )
        if self.action == ACCEPT_GONE:
            what = "record the deletion on the server as intended"
            return f"{self.server}/{self.filename}: {what} — {self.reason}"
        return f"{self.server}/{self.filename}: forget the registry row — {self.reason}"


def plan_changes(snap: ServerSnapshot) -> list[RegistryChange]:
    """The changes for one server (pure): rounds without a correct row, 'imported' rows without a round,
    imported files deleted on the server by someone else than retention (accepted as intended).

    The one selection both `repair` (preview) and `repair --apply` (act) use."""
    changes: list[RegistryChange] = []
    for name, rnd in sorted(snap.rounds.items()):
        listed = (snap.remote or {}).get(name)
        reason = registry_problem(snap.registry.get(name), rnd, listed)
        if reason is None:
            continue
        mtime = listed.mtime if listed is not None and listed.size == rnd.size else None
        changes.append(
            RegistryChange(snap.server, name, RECORD_IMPORTED, reason, rnd.id, rnd.sha256, rnd.size, mtime)
        )
    for name, row in sorted(snap.registry.items()):
        if row.state == "imported" and name not in snap.rounds:
            # The data is gone (deleted by hand, older backup restored): forgetting the row lets the next
            # poll or `statsbot sync` import the file again instead of skipping it forever.
            changes.append(RegistryChange(snap.server, name, FORGET, "registry says imported, no round"))
    gone = next((d for d in compare_remote(snap).differences if d.kind == Kind.GONE_FROM_SERVER), None)
    for name in gone.files if gone is not None else ():
        changes.append(RegistryChange(snap.server, name, ACCEPT_GONE, "imported, no longer on the server"))
    return changes


async def check_registry(
    db: Reader,
    servers: Sequence[str],
    local_stats: Path,
    *,
    source_for: SourceFor | None = None,
    limit_seconds: float = 30.0,
) -> list[RegistryChange]:
    """What `repair --apply` would change, for each server (reads the database, and lists the servers
    `source_for` gives a source for: sizes and mtimes come from the listing, deletions are seen live)."""
    changes: list[RegistryChange] = []
    for server in servers:
        source = source_for(server) if source_for is not None else None
        try:
            snap = await snapshot(
                db, server, local_root=local_stats, source=source, limit_seconds=limit_seconds
            )
        finally:
            if source is not None:
                await source.close()
        if source is None:
            snap = dataclasses.replace(snap, remote=None)
        changes += plan_changes(snap)
    return changes


async def check_orphans(db: Reader) -> list[dborphans.Orphans]:
    """Rows whose round (or session) is gone: database-wide, they belong to no server any more."""
    return await dborphans.find_orphans(db)


async def remove_orphans(db: Database) -> list[dborphans.Orphans]:
    """Delete the rows whose round is gone and clear dangling links, in one transaction (idempotent)."""
    async with db.transaction() as tx:
        removed = await dborphans.remove_orphans(tx)
    for o in removed:
        log.info("orphans_removed", table=o.table, reference=o.reference, count=o.count, fix=o.fix)
    return removed


async def apply_changes(db: Database, changes: Sequence[RegistryChange], *, now: float | None = None) -> int:
    """Apply the changes in ONE transaction, each recorded in the file's history; returns how many."""
    if not changes:
        return 0
    at = time.time() if now is None else now
    async with db.transaction() as tx:
        for ch in changes:
            if ch.action == RECORD_IMPORTED:
                size = ch.size
                if size is None and ch.round_id is not None:
                    size = len(await dbrounds.raw_content(tx, ch.round_id))
                await set_state(
                    tx, ch.server, ch.filename, "imported", now=at, sha256=ch.sha256, round_id=ch.round_id,
                    size=size, mtime=UNSET if ch.mtime is None else ch.mtime, last_error=None,
                    next_attempt_at=None,
                )  # fmt: skip
            elif ch.action == ACCEPT_GONE:
                await remote_files.mark_gone(tx, ch.server, {ch.filename: "operator"}, at)
            else:
                await ops_queries.delete_registry_rows(tx, ch.server, [ch.filename])
            await add_event(
                tx,
                ch.server,
                ch.filename,
                "registry_repaired",
                {"action": ch.action, "reason": ch.reason},
                at,
            )
    for ch in changes:
        log.info("registry_repaired", server=ch.server, file=ch.filename, action=ch.action, reason=ch.reason)
    return len(changes)
