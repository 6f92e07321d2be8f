"""Admin slash commands end to end: role check, quarantine list/retry, reprocess, diagnose, sync, errors."""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.chat.client import StatsBot
from bot.chat.runtime import start_chat
from bot.config import ServerConfig, Settings
from bot.db import files, outbox
from bot.db.connection import Database
from bot.factory import import_settings
from bot.ingest.importer import import_file
from bot.ingest.local_source import LocalSource
from tests.helpers.chat import discord_settings, import_samples
from tests.helpers.fake_discord import ADMIN_ROLE, GUILD_ID, STATS_CHANNEL, FakeDiscord
from tests.helpers.interactions import dispatch, guild_create, option, payload, subcommand

BAD_FILE = "2025-12-01-200000-supply-round-1.txt"


def answer(fake: FakeDiscord) -> dict[str, Any]:
    cb = [r for r in fake.requests if r.path.endswith("/callback")][-1].json
    if cb["type"] == 5:
        return dict([r for r in fake.requests if r.path.startswith("/webhooks/")][-1].json)
    return dict(cb["data"])


def settings_for(tmp_path: Path) -> Settings:
    server = {
        "name": "main",
        "host": "127.0.0.1",
        "username": "et",
        "private_key": str(tmp_path / "key"),
        "known_hosts": str(tmp_path / "known_hosts"),
        "remote_dir": "/stats",
        "min_file_age_seconds": 0,
    }
    return Settings.from_values(
        servers=[server],
        paths={"data_dir": str(tmp_path / "data"), "local_stats": str(tmp_path / "local_stats")},
        discord={
            "token": "fake-token",
            "guild_id": GUILD_ID,
            "stats_channel_id": STATS_CHANNEL,
            "admin_role_id": ADMIN_ROLE,
        },
    )


@pytest.fixture
async def admin_bot(
    db: Database, fake: FakeDiscord, samples_dir: Path, tmp_path: Path
) -> AsyncIterator[StatsBot]:
    await import_samples(db, samples_dir, limit=10)
    data = b"this is not a stats file\n"
    await import_file(
        db,
        server="main",
        filename=BAD_FILE,
        size=len(data),
        mtime=0,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        settings=import_settings(Settings.from_values()),
        now=time.time(),
    )
    remote = tmp_path / "remote"
    remote.mkdir()
    for name in sorted(p.name for p in samples_dir.glob("2025-11-*-round-[12].txt"))[:2]:
        shutil.copy(samples_dir / name, remote / name)
    chat = await start_chat(settings_for(tmp_path), db)
    assert chat.bot is not None
    chat.bot.source_factory = lambda cfg: LocalSource(cfg.name, remote)
    guild_create(chat.bot)
    try:
        yield chat.bot
    finally:
        await chat.close()


ADMIN: dict[str, Any] = {"roles": (ADMIN_ROLE,)}


@pytest.mark.parametrize(
    "event",
    [
        subcommand("quarantine", "list"),
        payload("diagnose"),
        payload("reprocess", [option("file", BAD_FILE)]),
        # Manage Server is not enough when an admin role is configured
        subcommand("quarantine", "retry", [option("file", BAD_FILE)], permissions=0x20),
    ],
)
async def test_non_admins_are_refused_before_anything_runs(
    admin_bot: StatsBot, fake: FakeDiscord, db: Database, event: dict[str, Any]
) -> None:
    await dispatch(admin_bot, event)
    data = answer(fake)
    assert data["content"] == "This command is for admins only."
    assert data["flags"] & 64
    assert not [r for r in fake.requests if r.path.startswith("/webhooks/")]  # nothing deferred/ran
    assert [r.state for r in await files.rows_in_state(db, "quarantined")] == ["quarantined"]


async def test_quarantine_list_and_retry(admin_bot: StatsBot, fake: FakeDiscord, db: Database) -> None:
    await dispatch(admin_bot, subcommand("quarantine", "list", **ADMIN))
    listing = answer(fake)["content"]
    assert f"main/{BAD_FILE}: " in listing
    await dispatch(admin_bot, subcommand("quarantine", "retry", [option("file", BAD_FILE)], **ADMIN))
    assert answer(fake)["content"] == f"main/{BAD_FILE} will be retried on the next poll."
    row = await files.get_row(db, "main", BAD_FILE)
    assert row is not None
    assert (row.state, row.attempts, row.next_attempt_at) == ("failed", 0, 0.0)
    await dispatch(admin_bot, subcommand("quarantine", "retry", [option("file", BAD_FILE)], **ADMIN))
    assert answer(fake)["content"] == f"{BAD_FILE} is not quarantined."


async def test_reprocess_a_file(admin_bot: StatsBot, fake: FakeDiscord, samples_dir: Path) -> None:
    name = sorted(p.name for p in samples_dir.glob("*-round-1.txt"))[0]
    await dispatch(admin_bot, payload("reprocess", [option("file", name)], **ADMIN))
    text = answer(fake)["content"]
    assert f"main/{name}: imported (round #" in text


async def test_diagnose_reports_each_location(admin_bot: StatsBot, fake: FakeDiscord) -> None:
    await dispatch(admin_bot, payload("diagnose", **ADMIN))
    data = answer(fake)
    assert data["flags"] & 64
    body = data["content"]
    assert body.startswith("```\nstatsbot diagnose")
    assert "main" in body


async def test_sync_imports_what_was_never_imported(
    admin_bot: StatsBot, fake: FakeDiscord, db: Database
) -> None:
    await dispatch(admin_bot, payload("sync", [option("server", "main")], **ADMIN))
    text = answer(fake)["content"]
    assert "import → imported" in text
    assert "sync: imported 2" in text


async def test_unknown_server_is_a_short_message(admin_bot: StatsBot, fake: FakeDiscord) -> None:
    await dispatch(admin_bot, payload("sync", [option("server", "nope")], **ADMIN))
    assert answer(fake)["content"] == "Unknown server 'nope'. Servers: main."


async def test_unexpected_error_is_reported_to_admins_once(
    admin_bot: StatsBot, fake: FakeDiscord, db: Database
) -> None:
    def broken(cfg: ServerConfig) -> LocalSource:
        raise RuntimeError("source factory exploded")

    admin_bot.source_factory = broken
    before = await outbox.backlog(db)
    for _ in range(2):
        await dispatch(admin_bot, payload("sync", [option("server", "main")], **ADMIN))
        assert answer(fake)["content"] == "Something went wrong; the admins have been told."
    assert await outbox.backlog(db) == before + 1
    alerts = [r for r in await outbox.due(db, now=time.time() + 1, limit=500) if r.kind == "alert"]
    assert alerts[-1].channel == "admin"
    assert "/sync failed" in alerts[-1].payload["message"]
    assert "source factory exploded" in alerts[-1].payload["message"]


async def test_without_an_admin_role_manage_server_is_required(db: Database, fake: FakeDiscord) -> None:
    chat = await start_chat(discord_settings(admin_role_id=0), db)
    assert chat.bot is not None
    guild_create(chat.bot)
    try:
        await dispatch(chat.bot, subcommand("quarantine", "list"))
        assert answer(fake)["content"] == "This command is for admins only."
        await dispatch(chat.bot, subcommand("quarantine", "list", permissions=0x20))
        assert answer(fake)["content"] == "No file is quarantined."
    finally:
        await chat.close()


def _choices(fake: FakeDiscord) -> list[dict[str, Any]]:
    cb = [r for r in fake.requests if r.path.endswith("/callback")][-1].json
    assert cb["type"] == 8
    return list(cb["data"]["choices"])


async def test_server_and_file_names_autocomplete(admin_bot: StatsBot, fake: FakeDiscord) -> None:
    await dispatch(admin_bot, payload("sync", [option("server", "ma", focused=True)], kind=4, **ADMIN))
    assert [c["value"] for c in _choices(fake)] == ["main"]
    await dispatch(admin_bot, payload("reprocess", [option("file", "2024-", focused=True)], kind=4, **ADMIN))
    found = _choices(fake)
    assert found
    assert all(c["value"].startswith("2024-") and c["name"] == f"main/{c['value']}" for c in found)
    await dispatch(
        admin_bot,
        subcommand("quarantine", "retry", [option("file", "supply", focused=True)], kind=4, **ADMIN),
    )
    assert [c["value"] for c in _choices(fake)] == [BAD_FILE]  # only quarantined files are offered
