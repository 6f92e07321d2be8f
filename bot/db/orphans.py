"""Dangling references (rows whose round or session is gone): find them, and remove or unlink them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.db.connection import Reader, Tx


@dataclass(frozen=True, slots=True)
class Orphans:
    """Rows that point to a row that is gone (left by a hand DELETE with foreign keys off)."""

    table: str
    reference: str  # "round_id → rounds"
    count: int
    fix: str  # "delete" (the row means nothing without its parent) | "clear" (the link is set to NULL)

    def describe(self) -> str:
        what = "delete them" if self.fix == "delete" else "clear the link"
        return f"{self.table}: {self.count} row(s) whose {self.reference} row is gone — {what}"


def _dangling(column: str, parent: str) -> str:
    # IS NOT NULL first: `NULL NOT IN (empty set)` is true, and a NULL link is no orphan.
    return f"{column} IS NOT NULL AND {column} NOT IN (SELECT id FROM {parent})"


# (table, reference, fix, WHERE clause selecting the orphans). The rows whose round is gone must go:
# SQLite reuses a deleted round's id, and the next import of that id then fails on their UNIQUE keys.
_ORPHAN_RULES = (
    ("player_stats", "round_id → rounds", "delete", "round_id NOT IN (SELECT id FROM rounds)"),
    ("weapon_stats", "round_id → rounds", "delete", "round_id NOT IN (SELECT id FROM rounds)"),
    (
        "matches",
        "r1/r2_round_id → rounds",
        "delete",
        "r1_round_id NOT IN (SELECT id FROM rounds) OR r2_round_id NOT IN (SELECT id FROM rounds)",
    ),
    ("rounds", "paired_round_id → rounds", "clear", _dangling("paired_round_id", "rounds")),
    ("rounds", "session_id → sessions", "clear", _dangling("session_id", "sessions")),
    ("matches", "session_id → sessions", "clear", _dangling("session_id", "sessions")),
    ("processed_files", "round_id → rounds", "clear", _dangling("round_id", "rounds")),
    # Derived session teams (0006): rebuilt from the rounds whenever needed, so dropping them loses nothing.
    ("session_teams", "session_id → sessions", "delete", "session_id NOT IN (SELECT id FROM sessions)"),
    ("session_rosters", "session_id → sessions", "delete", "session_id NOT IN (SELECT id FROM sessions)"),
    ("session_maps", "session_id → sessions", "delete", "session_id NOT IN (SELECT id FROM sessions)"),
    ("session_maps", "r1_round_id → rounds", "clear", _dangling("r1_round_id", "rounds")),
    ("session_maps", "r2_round_id → rounds", "clear", _dangling("r2_round_id", "rounds")),
)


async def find_orphans(db: Reader) -> list[Orphans]:
    """Every kind of dangling reference with its count (none on a database only statsbot wrote)."""
    found: list[Orphans] = []
    for table, reference, fix, where in _ORPHAN_RULES:
        r = await db.fetchone(f"SELECT count(*) FROM {table} WHERE {where}")
        if r is not None and int(r[0]) > 0:
            found.append(Orphans(table, reference, int(r[0]), fix))
    return found


async def remove_orphans(tx: Tx) -> list[Orphans]:
    """Delete / unlink every dangling reference (idempotent); returns what was changed."""
    changed: list[Orphans] = []
    for table, reference, fix, where in _ORPHAN_RULES:
        column = reference.split(" ")[0]
        if fix == "delete":
            result = await tx.execute(f"DELETE FROM {table} WHERE {where}")
        else:
            result = await tx.execute(f"UPDATE {table} SET {column} = NULL WHERE {where}")
        if result.rowcount > 0:
            changed.append(Orphans(table, reference, result.rowcount, fix))
    return changed


async def foreign_key_violations(db: Reader) -> dict[tuple[str, str], int]:
    """`PRAGMA foreign_key_check` grouped: (table, parent table) → rows pointing to a missing parent."""
    counts: dict[tuple[str, str], int] = {}
    for r in await db.fetchall("PRAGMA foreign_key_check"):
        key = (str(r[0]), str(r[2]))
        counts[key] = counts.get(key, 0) + 1
    return counts
