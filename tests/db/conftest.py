"""Fixtures for the store tests: a real database made by the real migrations, on BOTH engines.

`db` runs every test that takes it once on a SQLite file and once on PostgreSQL (tests/helpers/engines.py).
"""

from __future__ import annotations

import pytest

from bot.db.connection import Database


@pytest.fixture
def db(store_db: Database) -> Database:
    return store_db
