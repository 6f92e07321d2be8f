"""Fixtures for the store tests: a real database made by the real migrations, on BOTH engines.

`db` runs every test that takes it once on a SQLite file and once on PostgreSQL (tests/helpers/engines.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.db.connection import Database


@pytest.fixture
def db(store_db: Database) -> Database:
    return store_db


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite database only: for what is about the file itself (backups, WAL, PRAGMAs)."""
    database = await Database.open(tmp_path / "data" / "statsbot.db")
    try:
        yield database
    finally:
        await database.close()
