"""The Discord client: cogs loaded one by one, guild command sync only on change, startup validation."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from bot.chat.discord_sink import DiscordSink, map_send_error
from bot.chat.errors import TransientSendError
from bot.chat.interactions import on_command_error, report_problem
from bot.config import Settings
from bot.db import chat_queries
from bot.db.connection import Database
from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.ops.diagnose import SourceFactory

log = structlog.get_logger(__name__)

# Loaded in this order, each on its own: one broken cog does not stop the bot.
COGS: tuple[str, ...] = (
    "bot.chat.cogs.public",
    "bot.chat.cogs.players",
    "bot.chat.cogs.boards",
    "bot.chat.cogs.admin",
)
# What the bot needs in a channel it posts to.
REQUIRED_PERMISSIONS = ("view_channel", "send_messages", "embed_links")
# A black-holed network must not hold up the daemon's start (aiohttp's own default is 5 minutes).
CONNECT_TIMEOUT_SECONDS = 30.0


class StatsBot(commands.Bot):
    """Slash commands only (no prefix commands, no privileged intents); posting is REST via DiscordSink."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        cogs: tuple[str, ...] = COGS,
        sync_on_start: bool = True,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            help_command=None,
            # Long rate limits raise RateLimited (the drainer backs off) instead of blocking a send.
            max_ratelimit_timeout=30.0,
        )
        self.settings = settings
        self.db = db
        self.guild = discord.Object(id=settings.discord.guild_id)
        self.cog_modules = cogs
        self.failed_cogs: dict[str, str] = {}
        self.sync_on_start = sync_on_start
        # How admin commands reach the game servers; None = the production SSH sources (tests swap it).
        self.source_factory: SourceFactory | None = None
        self.tree.on_error = on_command_error  # type: ignore[method-assign]

    async def setup_hook(self) -> None:
        for name in self.cog_modules:
            try:
                await self.load_extension(name)
            except Exception as exc:
                self.failed_cogs[name] = f"{type(exc).__name__}: {exc}"
                log.exception("cog_load_failed", cog=name)
                await report_problem(self.db, f"cog_load_failed:{name}", f"cog {name} did not load: {exc}")
        # Commands are defined globally in the cogs but only ever synced to the configured guild:
        # guild commands appear at once, and nothing leaks to other servers.
        self.tree.copy_global_to(guild=self.guild)
        if not self.sync_on_start:
            return
        try:
            await sync_commands(self)
        except discord.Forbidden:
            raise ConfigError(
                "discord.guild_id",
                f"cannot register slash commands in guild {self.guild.id}: invite the bot with the "
                "applications.commands scope",
            ) from None
        except discord.HTTPException as exc:
            # Posting does not need the commands; the next start (or `statsbot discord sync`) retries.
            log.warning("commands_sync_failed", status=exc.status, error=exc.text)


def command_payload(
    tree: app_commands.CommandTree[Any], guild: discord.abc.Snowflake
) -> list[dict[str, Any]]:
    """What a sync would send for `guild` (computed offline)."""
    return sorted((c.to_dict(tree) for c in tree.get_commands(guild=guild)), key=lambda c: str(c["name"]))


def command_hash(tree: app_commands.CommandTree[Any], guild: discord.abc.Snowflake) -> str:
    blob = json.dumps(command_payload(tree, guild), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


async def sync_commands(bot: StatsBot, *, force: bool = False) -> bool:
    """Sync the guild's commands when their definitions changed (or `force`); True if synced.

    Discord allows only 200 command creates a day per guild: syncing on every start would burn them.
    """
    key = f"command_hash:{bot.guild.id}"
    digest = command_hash(bot.tree, bot.guild)
    if not force and await chat_queries.get_state(bot.db, key) == digest:
        log.info("commands_unchanged", guild_id=bot.guild.id)
        return False
    synced = await bot.tree.sync(guild=bot.guild)
    await chat_queries.set_state(bot.db, key, digest, now=time.time())
    log.info("commands_synced", guild_id=bot.guild.id, count=len(synced))
    return True


async def validate_channels(bot: StatsBot) -> None:
    """The guild and each configured channel exist and the bot may post there; ConfigError names the key."""
    cfg = bot.settings.discord
    try:
        guild = await bot.fetch_guild(cfg.guild_id)
        assert bot.user is not None
        me = await guild.fetch_member(bot.user.id)
    except (discord.NotFound, discord.Forbidden):
        raise ConfigError(
            "discord.guild_id", f"guild {cfg.guild_id} not found, or the bot is not a member of it"
        ) from None
    for key, channel_id in (
        ("discord.stats_channel_id", cfg.stats_channel_id),
        ("discord.admin_channel_id", cfg.admin_channel_id),
    ):
        if not channel_id:
            continue  # no admin channel: admin posts go to the stats channel
        try:
            channel = await guild.fetch_channel(channel_id)
        except discord.NotFound:
            raise ConfigError(key, f"channel {channel_id} does not exist (deleted, or a wrong id)") from None
        except discord.Forbidden:
            raise ConfigError(key, f"the bot cannot see channel {channel_id}") from None
        except discord.InvalidData:
            raise ConfigError(key, f"channel {channel_id} is not a channel of guild {cfg.guild_id}") from None
        permissions = channel.permissions_for(me)
        missing = [p for p in REQUIRED_PERMISSIONS if not getattr(permissions, p)]
        if missing:
            raise ConfigError(key, f"the bot lacks {', '.join(missing)} in #{channel.name} ({channel_id})")


async def connect_discord(settings: Settings, db: Database, *, sync_on_start: bool = True) -> StatsBot:
    """A fresh bot, logged in (REST; setup_hook loads cogs and syncs) with its channels validated.

    ConfigError for what the operator must fix (token, ids, permissions); network and 5xx errors pass
    through. On any failure the bot is closed, so a later attempt starts from a clean client.
    """
    token = settings.discord.token
    if token is None:
        raise ConfigError("discord.token", "not set (env STATSBOT_DISCORD__TOKEN)")
    bot = StatsBot(settings, db, sync_on_start=sync_on_start)
    try:
        try:
            await bot.login(token.get_secret_value())
        except discord.LoginFailure:
            raise ConfigError("discord.token", "Discord rejected the token") from None
        await validate_channels(bot)
    except BaseException:
        await bot.close()
        raise
    return bot


async def start_discord(settings: Settings, db: Database) -> DiscordSink:
    """The Discord sink, connected now; or, when Discord cannot be reached, one that connects later.

    A bad configuration fails at once (ConfigError). An outage at start must not stop imports: the
    posts wait in the outbox and the sink keeps trying to connect at the drainer's retry pace.
    """
    channels = {"stats": settings.discord.stats_channel_id, "admin": settings.discord.admin_channel_id}

    async def connect() -> StatsBot:
        return await connect_discord(settings, db)

    try:
        bot = await asyncio.wait_for(connect(), timeout=CONNECT_TIMEOUT_SECONDS)
    except ConfigError:
        raise
    except Exception as exc:
        if not isinstance(exc, TimeoutError) and not isinstance(map_send_error(exc), TransientSendError):
            raise
        log.warning("discord_unreachable_at_start", error=f"{type(exc).__name__}: {exc}")
        return DiscordSink(None, channels, connect=connect)
    return DiscordSink(bot, channels, connect=connect)
