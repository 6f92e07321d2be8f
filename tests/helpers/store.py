"""Test helpers for the store: open a migrated database, import sample files, dump what a round holds."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from bot.db.connection import Database
from bot.ingest.importer import ImportOutcome, ImportSettings, import_file

SETTINGS = ImportSettings()


async def import_bytes(
    db: Database,
    filename: str,
    data: bytes,
    *,
    server: str = "main",
    now: float = 1_000_000.0,
    settings: ImportSettings = SETTINGS,
    mtime: int = 1_700_000_000,
) -> ImportOutcome:
    """import_file with size/sha256 computed from the bytes."""
    return await import_file(
        db, server=server, filename=filename, size=len(data), mtime=mtime, data=data,
        sha256=hashlib.sha256(data).hexdigest(), settings=settings, now=now,
    )  # fmt: skip


async def import_path(db: Database, path: Path, **kwargs: Any) -> ImportOutcome:
    """Import a file from disk under its own name."""
    return await import_bytes(db, path.name, path.read_bytes(), **kwargs)


def stats_files(samples_dir: Path) -> list[Path]:
    """The real stats files (companions excluded), chronologically (names sort by time)."""
    return sorted(p for p in samples_dir.glob("*-round-[12].txt"))


async def count(db: Database, table: str) -> int:
    row = await db.fetchone(f"SELECT count(*) FROM {table}")
    assert row is not None
    return int(row[0])


async def players_by_name(db: Database, server: str, filename: str) -> dict[str, dict[str, Any]]:
    """clean_name → stored player_stats row (as a dict) of the round imported from `filename`."""
    rows = await db.fetchall(
        "SELECT ps.* FROM player_stats ps JOIN rounds r ON r.id = ps.round_id "
        "WHERE r.server = ? AND r.filename = ?",
        (server, filename),
    )
    return {r["clean_name"]: dict(r) for r in rows}
