"""Fixtures of the tool tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers.engines import NewStore
from tests.helpers.ops import World, open_world


@pytest.fixture
async def world(tmp_path: Path, samples_dir: Path, new_store: NewStore) -> AsyncIterator[World]:
    """The tools' rig on each engine in turn (SQLite file, PostgreSQL schema)."""
    async with open_world(tmp_path, samples_dir, new_store()) as w:
        yield w
