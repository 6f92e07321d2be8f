"""Fixtures of the operations tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers.ops import World, open_world


@pytest.fixture
async def world(tmp_path: Path, samples_dir: Path) -> AsyncIterator[World]:
    async with open_world(tmp_path, samples_dir) as w:
        yield w
