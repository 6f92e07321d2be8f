"""The drift watch's latest per-kind counts (`drift_counts`): written by each check, read by /metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.db.connection import Reader, Tx

_COLUMNS = "server, kind, files, first_date, last_date, checked_at"


@dataclass(frozen=True, slots=True)
class DriftCount:
    """How many files one kind of difference had on one server at the last check (0: none), their dates."""

    server: str
    kind: str
    files: int
    first_date: str | None
    last_date: str | None
    checked_at: float


async def store(tx: Tx, counts: Sequence[DriftCount]) -> None:
    """Replace the rows of the kinds a check evaluated (zeros included); kinds it could not tell are kept."""
    await tx.executemany(
        f"INSERT INTO drift_counts({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (server, kind) DO UPDATE SET files = excluded.files, "
        "first_date = excluded.first_date, last_date = excluded.last_date, checked_at = excluded.checked_at",
        [(c.server, c.kind, c.files, c.first_date, c.last_date, c.checked_at) for c in counts],
    )


async def all_counts(db: Reader) -> list[DriftCount]:
    """Every stored count, by server and kind."""
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM drift_counts ORDER BY server, kind")
    return [DriftCount(*tuple(r)) for r in rows]
