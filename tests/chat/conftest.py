"""Chat test fixtures: a real migrated SQLite database, the fake Discord server, Discord settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.chat.client import StatsBot
from bot.chat.runtime import start_chat
from bot.db.connection import Database
from tests.helpers.chat import discord_settings, import_samples
from tests.helpers.fake_discord import FakeDiscord, running
from tests.helpers.interactions import guild_create


@pytest.fixture
def db(store_db: Database) -> Database:
    """A migrated database, SQLite then PostgreSQL (tests/helpers/engines.py)."""
    return store_db


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with running() as server:
        yield server


@pytest.fixture
async def bot_with_data(db: Database, fake: FakeDiscord, samples_dir: Path) -> AsyncIterator[StatsBot]:
    """A logged-in StatsBot (cogs loaded, commands synced) over a database holding the real samples."""
    assert await import_samples(db, samples_dir) > 40
    chat = await start_chat(discord_settings(), db)
    assert chat.bot is not None
    guild_create(chat.bot)
    try:
        yield chat.bot
    finally:
        await chat.close()
