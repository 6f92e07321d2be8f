"""Fixtures for the store tests: a real SQLite file made by the real migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.db.connection import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "data" / "statsbot.db")
    try:
        yield database
    finally:
        await database.close()
