"""Chat test fixtures: a real migrated SQLite database, the fake Discord server, Discord settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.chat.client import StatsBot
from bot.chat.runtime import start_chat
from bot.db.connection import Database
from tests.helpers.chat import ImportedSamples, discord_settings
from tests.helpers.engines import NewStore
from tests.helpers.fake_discord import FakeDiscord, running
from tests.helpers.interactions import guild_create


@pytest.fixture(scope="session")
def imported_samples(
    samples_dir: Path, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[ImportedSamples]:
    samples = ImportedSamples(
        tmp_path_factory.mktemp("samples"), samples_dir, lambda: request.getfixturevalue("pg_store_pool")
    )
    with samples.stack:
        yield samples


@pytest.fixture
async def db(
    new_store: NewStore, request: pytest.FixtureRequest, imported_samples: ImportedSamples
) -> AsyncIterator[Database]:
    """A migrated database, SQLite then PostgreSQL (tests/helpers/engines.py). For a test that takes
    `with_samples` (or `bot_with_data`) it holds the real samples: imported once per engine by the real
    importer, copied in before it opens (tests/helpers/chat.py ImportedSamples), not imported again for
    each of those tests."""
    target = new_store()
    if "with_samples" in request.fixturenames:
        await imported_samples.copy_into(target)
    database = await Database.open(target)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with running() as server:
        yield server


@pytest.fixture
def with_samples() -> None:
    """Take it (`@pytest.mark.usefixtures("with_samples")`): the test's `db` holds the real samples."""


@pytest.fixture
async def bot_with_data(db: Database, fake: FakeDiscord, with_samples: None) -> AsyncIterator[StatsBot]:
    """A logged-in StatsBot (cogs loaded, commands synced) over a database holding the real samples."""
    assert int((await db.fetchall("SELECT count(*) FROM rounds"))[0][0]) > 40
    chat = await start_chat(discord_settings(), db)
    assert chat.bot is not None
    guild_create(chat.bot)
    try:
        yield chat.bot
    finally:
        await chat.close()
