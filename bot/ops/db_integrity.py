"""The checks of `statsbot db check` both engines share, and the whole check on PostgreSQL.

SQLite adds its file checks first (bot/ops/dbtools.py: integrity_check, foreign_key_check); PostgreSQL
checks its own pages, so there the check is the logical one: orphans, the schema version, the kept
aggregates against a recomputation (bot/db/aggregates.py), and the row counts. Same result shape on both.
"""

from __future__ import annotations

from bot.db import aggregates, integrity
from bot.db import orphans as dborphans
from bot.db.connection import Database, Reader
from bot.db.migrations_runner import discover
from bot.db.tx import DATABASE_ERRORS

ORPHANS_ADVICE = (
    "recommendation: stop the daemon, then `statsbot registry repair --apply` removes them "
    "(imports into a reused round id fail until then)"
)
AGGREGATES_ADVICE = (
    "recommendation: the kept totals (players, leaderboards) no longer equal the rounds — a hand edit "
    "changed one side; restore the newest backup or re-import the affected rounds (docs/OPERATIONS.md)"
)


def orphan_lines(found: dict[tuple[str, str], int]) -> list[str]:
    """(table, parent) → count as `db check` prints them, with what to do."""
    if not found:
        return []
    return [
        *(
            f"orphans: {n} {table} row(s) point to a missing {parent} row"
            for (table, parent), n in sorted(found.items())
        ),
        ORPHANS_ADVICE,
    ]


async def orphans_by_parent(db: Reader) -> dict[tuple[str, str], int]:
    """The dangling references statsbot knows (bot/db/orphans.py), as (table, parent table) → rows."""
    found: dict[tuple[str, str], int] = {}
    for o in await dborphans.find_orphans(db):
        key = (o.table, o.reference.rsplit("→", 1)[-1].strip())
        found[key] = found.get(key, 0) + o.count
    return found


async def logical_checks(db: Database) -> tuple[list[str], list[str]]:
    """(findings, details): findings make the check fail; details are the counts and versions it saw.

    Orphans are not looked for here (each engine has its own way: PRAGMA foreign_key_check on SQLite)."""
    findings: list[str] = []
    version = await integrity.schema_version(db)
    latest = discover()[-1].version
    if version != latest:
        findings.append(f"schema version {version}, this statsbot expects {latest}")
    drift = await aggregates.drift(db)
    for table, rows in sorted(drift.items()):
        findings.append(f"aggregates: {table} differs from a recomputation in {rows} row(s)")
    if drift:
        findings.append(AGGREGATES_ADVICE)
    counts = await integrity.table_counts(db)
    details = [
        f"schema version {version}",
        "kept aggregates equal a recomputation" if not drift else "kept aggregates DIFFER",
        "counts: " + ", ".join(f"{n} {table}" for table, n in counts.items()),
    ]
    return findings, details


async def check_postgresql(db: Database) -> tuple[list[str], list[str], int]:
    """(messages, details, size in bytes) of the PostgreSQL database `db`: ["ok"] when healthy."""
    try:
        server, size = await integrity.postgresql_size(db)
        findings = orphan_lines(await orphans_by_parent(db))
        more, details = await logical_checks(db)
    except DATABASE_ERRORS as exc:
        return [f"unreadable: {exc}"], [], 0
    return (findings + more) or ["ok"], [f"PostgreSQL {server}", *details], size
