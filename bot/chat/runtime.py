"""The chat side as the daemon sees it: one object to drain, wake, run and close (console or Discord)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, TextIO, cast

import structlog

from bot.chat.console import ConsoleSink
from bot.chat.drainer import DrainStats, OutboxDrainer, RetryPolicy
from bot.chat.errors import TransientSendError
from bot.chat.sinks import Sink
from bot.config import PostsConfig, Settings
from bot.db.connection import Database

if TYPE_CHECKING:
    from bot.chat.client import StatsBot
    from bot.chat.discord_sink import DiscordSink

log = structlog.get_logger(__name__)

GATEWAY_RETRY_SECONDS = 30.0
CONSOLE_JOURNAL = "console.journal"  # in data_dir: the console's record of what it printed


def disabled_kinds(posts: PostsConfig) -> frozenset[str]:
    """Outbox kinds switched off by `[discord.posts]`."""
    toggles = {
        "round": posts.rounds,
        "match": posts.matches,
        "session": posts.sessions,
        "alert": posts.alerts,
        "alert_resolved": posts.alerts,
    }
    return frozenset(kind for kind, on in toggles.items() if not on)


class ChatRuntime:
    """Owns the drainer and its sink; with Discord, also the client's gateway connection."""

    def __init__(self, drainer: OutboxDrainer, sink: Sink, discord_sink: DiscordSink | None = None) -> None:
        self.drainer = drainer
        self.sink = sink
        self.discord = discord_sink

    @property
    def kind(self) -> str:
        return "console" if self.discord is None else "discord"

    @property
    def bot(self) -> StatsBot | None:
        """The Discord client once connected (None for the console, or while Discord is unreachable)."""
        client = None if self.discord is None else self.discord.client
        return cast("StatsBot | None", client)

    async def drain_once(self) -> DrainStats:
        """Send every post due now (used by `statsbot once` and the demo)."""
        return await self.drainer.drain_once()

    def notify(self) -> None:
        """Call after an import committed posts: the drainer wakes at once."""
        self.drainer.notify()

    async def run(self, stop: asyncio.Event) -> None:
        """Drain (and, with Discord, serve slash commands over the gateway) until `stop` is set."""
        await self.serve(stop, drain=True)

    async def serve(self, stop: asyncio.Event, *, drain: bool = False) -> None:
        """Serve slash commands (Discord's gateway) until `stop` is set; drain the outbox too with
        `drain`. Two instances on PostgreSQL both serve; only the leader drains (bot/ha.py)."""
        gateway: asyncio.Task[None] | None = None
        if self.discord is not None:
            gateway = asyncio.create_task(_gateway(self.discord), name="discord-gateway")
            gateway.add_done_callback(_log_gateway_end)
        try:
            await (self.drainer.run(stop) if drain else stop.wait())
        finally:
            if gateway is not None:
                gateway.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await gateway

    async def notice(self, text: str) -> None:
        """An admin notice sent directly, bypassing the outbox (when the database refuses writes)."""
        if self.discord is not None:
            await self.discord.notice(text)
        elif isinstance(self.sink, ConsoleSink):
            await self.sink.notice(text)
        else:
            log.warning("admin_notice_not_sent", sink=type(self.sink).__name__, text=text)

    async def close(self) -> None:
        """Close the sink (and its client); safe to call twice."""
        await self.sink.close()


async def _gateway(sink: DiscordSink) -> None:
    """Connect the gateway (slash commands) once the REST client exists; discord.py reconnects itself."""
    while True:
        try:
            client = await sink.connected()
            break
        except TransientSendError:
            await asyncio.sleep(GATEWAY_RETRY_SECONDS)
    await client.connect(reconnect=True)


def _log_gateway_end(task: asyncio.Task[None]) -> None:
    # Posting is REST-only and keeps working; only slash commands stop without the gateway.
    if not task.cancelled() and task.exception() is not None:
        log.error("discord_gateway_stopped", error=repr(task.exception()))


async def start_chat(
    settings: Settings,
    db: Database,
    *,
    stream: TextIO | None = None,
    policy: RetryPolicy | None = None,
) -> ChatRuntime:
    """The console sink without a Discord token, else a logged-in Discord client (REST; gateway in run())."""
    skip = disabled_kinds(settings.discord.posts)
    if not settings.discord.enabled:
        sink = ConsoleSink(stream, journal=settings.paths.data_dir / CONSOLE_JOURNAL)
        log.info("chat_started", sink="console")
        return ChatRuntime(OutboxDrainer(db, sink, policy=policy, skip_kinds=skip), sink)
    from bot.chat.client import start_discord  # discord.py is only imported when it is used

    discord_sink = await start_discord(settings, db)
    log.info("chat_started", sink="discord", guild_id=settings.discord.guild_id)
    drainer = OutboxDrainer(db, discord_sink, policy=policy, skip_kinds=skip)
    return ChatRuntime(drainer, discord_sink, discord_sink)
