"""The Discord client: command sync only on change, cogs isolated, startup validation naming the key."""

from __future__ import annotations

import time

import pytest

from bot.chat.client import StatsBot, command_payload, connect_discord, sync_commands
from bot.db import outbox
from bot.db.connection import Database
from bot.errors import ConfigError
from tests.helpers.chat import discord_settings
from tests.helpers.fake_discord import ADMIN_CHANNEL, FakeDiscord
from tests.helpers.interactions import dispatch, guild_create, payload

EXPECTED = {
    "status",
    "last_round",
    "last_session",
    "stats",
    "leaderboard",
    "compare",
    "whois",
    "maps",
    "records",
    "link",
    "unlink",
    "diagnose",
    "sync",
    "reprocess",
    "quarantine",
}


def syncs(fake: FakeDiscord) -> int:
    return len(
        [r for r in fake.requests if r.method == "PUT" and r.path == "/applications/42/guilds/10/commands"]
    )


async def test_commands_sync_once_then_only_on_change_or_force(db: Database, fake: FakeDiscord) -> None:
    bot = await connect_discord(discord_settings(), db)
    try:
        assert syncs(fake) == 1
        assert {c["name"] for c in fake.commands} == EXPECTED
        admin = {c["name"]: c for c in fake.commands}["diagnose"]
        assert admin["default_member_permissions"] == 32  # Manage Server: a UI hint; the bot enforces
    finally:
        await bot.close()
    again = await connect_discord(discord_settings(), db)  # a restart with the same definitions
    try:
        assert syncs(fake) == 1
        assert await sync_commands(again, force=True)
        assert syncs(fake) == 2
    finally:
        await again.close()
    fewer = StatsBot(discord_settings(), db, cogs=("bot.chat.cogs.public",))  # definitions changed
    try:
        await fewer.login("fake-token")
        assert syncs(fake) == 3
        assert {c["name"] for c in fake.commands} == EXPECTED - {
            "stats",
            "leaderboard",
            "compare",
            "whois",
            "maps",
            "records",
            "diagnose",
            "sync",
            "reprocess",
            "quarantine",
        }
    finally:
        await fewer.close()


async def test_a_broken_cog_does_not_stop_the_others(db: Database, fake: FakeDiscord) -> None:
    bot = StatsBot(discord_settings(), db, cogs=("tests.helpers.broken_cog", "bot.chat.cogs.public"))
    try:
        await bot.login("fake-token")
        assert "broken on purpose" in bot.failed_cogs["tests.helpers.broken_cog"]
        alerts = [r for r in await outbox.due(db, now=time.time() + 1, limit=10) if r.kind == "alert"]
        assert [a.channel for a in alerts] == ["admin"]  # the admins hear about it once
        assert "cog tests.helpers.broken_cog did not load" in alerts[0].payload["message"]
        guild_create(bot)
        await dispatch(bot, payload("status"))
        callback = next(r for r in fake.requests if r.path.endswith("/callback"))
        assert callback.json["data"]["embeds"][0]["title"] == "statsbot status"
    finally:
        await bot.close()


def test_command_payload_is_computed_offline(db: Database) -> None:
    bot = StatsBot(discord_settings(), db)
    assert command_payload(bot.tree, bot.guild) == []  # nothing registered before setup_hook


async def test_missing_channel_names_the_key(db: Database, fake: FakeDiscord) -> None:
    with pytest.raises(ConfigError) as err:
        await connect_discord(discord_settings(stats_channel_id=999), db)
    assert err.value.key == "discord.stats_channel_id"
    assert "999 does not exist" in err.value.reason


async def test_no_permission_to_post_names_the_key(db: Database, fake: FakeDiscord) -> None:
    deny_send = [{"id": "600", "type": 0, "allow": "0", "deny": str(0x800)}]  # the bot's role
    fake.add_channel(ADMIN_CHANNEL, "admin", overwrites=deny_send)
    with pytest.raises(ConfigError) as err:
        await connect_discord(discord_settings(), db)
    assert err.value.key == "discord.admin_channel_id"
    assert "lacks send_messages" in err.value.reason
    assert "#admin (21)" in err.value.reason


async def test_wrong_guild_names_the_key(db: Database, fake: FakeDiscord) -> None:
    with pytest.raises(ConfigError) as err:
        await connect_discord(discord_settings(guild_id=11), db)
    assert err.value.key == "discord.guild_id"


async def test_rejected_token_names_the_key(db: Database, fake: FakeDiscord) -> None:
    fake.token_ok = False
    with pytest.raises(ConfigError) as err:
        await connect_discord(discord_settings(), db)
    assert err.value.key == "discord.token"


async def test_no_commands_scope_names_the_key(db: Database, fake: FakeDiscord) -> None:
    fake.commands_status = 403
    with pytest.raises(ConfigError) as err:
        await connect_discord(discord_settings(), db)
    assert err.value.key == "discord.guild_id"
    assert "applications.commands" in err.value.reason


async def test_a_failed_command_sync_does_not_stop_posting(db: Database, fake: FakeDiscord) -> None:
    fake.commands_status = 503
    bot = await connect_discord(discord_settings(), db)
    try:
        assert bot.user is not None  # logged in and validated: the sink can post
    finally:
        await bot.close()
    fake.commands_status = 200
    again = await connect_discord(discord_settings(), db)  # the hash was not stored: it syncs now
    await again.close()
    assert {c["name"] for c in fake.commands} == EXPECTED
