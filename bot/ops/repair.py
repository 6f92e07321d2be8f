"""`statsbot registry check|repair`: find registry drift against the imported data and fix it (idempotent)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from bot.db import ops_queries
from bot.db import orphans as dborphans
from bot.db import rounds as dbrounds
from bot.db.connection import Database, Reader
from bot.db.files import add_event, set_state
from bot.ops.diagnose import snapshot
from bot.ops.drift import ServerSnapshot, registry_problem

log = structlog.get_logger(__name__)

RECORD_IMPORTED = "record_imported"
FORGET = "forget"


@dataclass(frozen=True, slots=True)
class RegistryChange:
    """One change that brings the registry in line with the data."""

    server: str
    filename: str
    action: str  # record_imported | forget
    reason: str
    round_id: int | None = None
    sha256: str | None = None

    def describe(self) -> str:
        if self.action == RECORD_IMPORTED:
            return (
                f"{self.server}/{self.filename}: record as imported (round #{self.round_id}) — {self.reason}"
            )
        return f"{self.server}/{self.filename}: forget the registry row — {self.reason}"


def plan_changes(snap: ServerSnapshot) -> list[RegistryChange]:
    """The changes for one server (pure): rounds without a correct row, 'imported' rows without a round."""
    changes: list[RegistryChange] = []
    for name, rnd in sorted(snap.rounds.items()):
        reason = registry_problem(snap.registry.get(name), rnd)
        if reason is None:
            continue
        changes.append(RegistryChange(snap.server, name, RECORD_IMPORTED, reason, rnd.id, rnd.sha256))
    for name, row in sorted(snap.registry.items()):
        if row.state == "imported" and name not in snap.rounds:
            # The data is gone (deleted by hand, older backup restored): forgetting the row lets the next
            # poll or `statsbot sync` import the file again instead of skipping it forever.
            changes.append(RegistryChange(snap.server, name, FORGET, "registry says imported, no round"))
    return changes


async def check_registry(db: Reader, servers: Sequence[str], local_stats: Path) -> list[RegistryChange]:
    """What `repair --apply` would change, for each server (reads the database only)."""
    changes: list[RegistryChange] = []
    for server in servers:
        snap = await snapshot(db, server, local_root=local_stats, source=None)
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
                raw = await dbrounds.raw_content(tx, ch.round_id) if ch.round_id is not None else None
                await set_state(
                    tx,
                    ch.server,
                    ch.filename,
                    "imported",
                    now=at,
                    sha256=ch.sha256,
                    round_id=ch.round_id,
                    size=None if raw is None else len(raw),
                    last_error=None,
                    next_attempt_at=None,
                )
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
