"""The Discord sink: posts embeds over REST with the outbox nonce, and maps failures for the drainer."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable, Mapping

import aiohttp
import discord
import structlog

from bot.chat.embeds import CHART_FILE, footer_marker, post_chart, post_embed
from bot.chat.errors import AmbiguousSendError, PermanentSendError, TransientSendError
from bot.chat.sinks import Post
from bot.errors import ConfigError

log = structlog.get_logger(__name__)

# 4xx answers that retrying cannot fix. 401 is missing on purpose: a revoked token is fixed by the
# operator and the posts should still go out afterwards, not be thrown away.
PERMANENT_STATUSES = frozenset({400, 403, 404, 405, 413})


def map_send_error(exc: BaseException) -> Exception:
    """The drainer's view of a failed discord.py request."""
    if isinstance(exc, discord.RateLimited):
        return TransientSendError(f"rate limited for {exc.retry_after:.1f}s", retry_after=exc.retry_after)
    if isinstance(exc, discord.HTTPException):
        reason = f"{exc.status} {exc.text or type(exc).__name__}"[:300]
        if exc.status in PERMANENT_STATUSES:
            return PermanentSendError(reason, status=exc.status)
        return TransientSendError(reason)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return TransientSendError(f"cannot connect: {exc}")  # nothing was sent
    if isinstance(exc, aiohttp.ClientError | OSError | asyncio.TimeoutError):
        # The request may have been written before the connection broke: the message may exist.
        return AmbiguousSendError(f"{type(exc).__name__}: {exc}"[:300])
    return exc if isinstance(exc, Exception) else RuntimeError(str(exc))


class DiscordSink:
    """Sends through a logged-in client; `channels` maps 'stats'/'admin' to channel ids.

    `client` may be None when Discord was unreachable at start: `connect` then builds one on demand.
    """

    reconciles = True

    def __init__(
        self,
        client: discord.Client | None,
        channels: Mapping[str, int],
        *,
        connect: Callable[[], Awaitable[discord.Client]] | None = None,
        history_limit: int = 100,
    ) -> None:
        self._client = client
        self._connect = connect
        self._channels = dict(channels)
        self._history_limit = history_limit
        self._connecting = asyncio.Lock()

    @property
    def client(self) -> discord.Client | None:
        return self._client

    async def connected(self) -> discord.Client:
        """The client, connecting first if needed; TransientSendError while that is not possible."""
        if self._client is not None:
            return self._client
        async with self._connecting:
            if self._client is None:
                if self._connect is None:
                    raise TransientSendError("no Discord client")
                try:
                    self._client = await self._connect()
                except ConfigError as exc:
                    # Needs the operator (token, ids, permissions): posts wait, they are not dropped.
                    log.error("discord_connect_failed", key=exc.key, reason=exc.reason)
                    raise TransientSendError(f"not connected: {exc}") from exc
                except Exception as exc:
                    raise TransientSendError(f"not connected: {type(exc).__name__}: {exc}") from exc
                log.info("discord_connected")
        return self._client

    def channel_id(self, channel: str) -> int:
        return self._channels.get(channel) or self._channels["stats"]

    async def send(self, post: Post) -> str:
        client = await self.connected()
        channel = client.get_partial_messageable(self.channel_id(post.channel))
        png = await post_chart(post)
        embed = post_embed(post, image=CHART_FILE if png else None)
        quiet = discord.AllowedMentions.none()
        try:
            if png:
                chart = discord.File(io.BytesIO(png), filename=CHART_FILE)
                message = await channel.send(
                    embed=embed, file=chart, nonce=post.nonce, allowed_mentions=quiet
                )
            else:
                message = await channel.send(embed=embed, nonce=post.nonce, allowed_mentions=quiet)
        except Exception as exc:
            raise map_send_error(exc) from exc
        return str(message.id)

    async def edit(self, post: Post, message_id: str) -> str:
        """Edit our earlier message into the correction (PATCH: repeating it changes nothing more)."""
        if not message_id.isdigit():  # delivered by another sink (the console before a token was set)
            return await self.send(post)
        client = await self.connected()
        channel = client.get_partial_messageable(self.channel_id(post.channel))
        try:
            message = await channel.get_partial_message(int(message_id)).edit(
                embed=post_embed(post), allowed_mentions=discord.AllowedMentions.none()
            )
        except Exception as exc:
            raise map_send_error(exc) from exc
        return str(message.id)

    async def notice(self, text: str) -> None:
        """Send a plain admin notice directly: no outbox, no nonce, no retry (bot/ops/db_refused.py)."""
        client = await self.connected()
        channel = client.get_partial_messageable(self.channel_id("admin"))
        try:
            await channel.send(content=text[:2000], allowed_mentions=discord.AllowedMentions.none())
        except Exception as exc:
            raise map_send_error(exc) from exc

    async def recent_markers(self, channel: str) -> Mapping[str, str]:
        """Our posts among the channel's last messages, by the nonce in their footer."""
        client = await self.connected()
        partial = client.get_partial_messageable(self.channel_id(channel))
        me = client.user
        found: dict[str, str] = {}
        try:
            async for message in partial.history(limit=self._history_limit):
                if me is not None and message.author.id != me.id:
                    continue
                for embed in message.embeds:
                    marker = footer_marker(embed.footer.text)
                    if marker is not None:
                        found.setdefault(marker, str(message.id))
        except Exception as exc:
            mapped = map_send_error(exc)
            if isinstance(mapped, PermanentSendError):
                # Cannot read history (no Read Message History): say so, and fall back to the nonce.
                log.warning("reconcile_history_unreadable", channel=channel, error=mapped.reason)
                return found
            raise mapped from exc
        return found

    async def close(self) -> None:
        if self._client is not None and not self._client.is_closed():
            await self._client.close()
