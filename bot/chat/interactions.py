"""Slash-command plumbing: the admin check, short ephemeral replies, and the tree's error handler."""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

import discord
import structlog
from discord import app_commands

from bot.db import outbox
from bot.errors import ConfigError
from bot.ingest.posts import KIND_ALERT, alert_payload

if TYPE_CHECKING:
    from bot.chat.client import StatsBot
    from bot.db.connection import Database

log = structlog.get_logger(__name__)


class UserFacingError(app_commands.AppCommandError):
    """A problem the user can act on; its text is shown to them as is (ephemeral)."""


def stats_bot(interaction: discord.Interaction[Any]) -> StatsBot:
    from bot.chat.client import StatsBot

    client = interaction.client
    assert isinstance(client, StatsBot)
    return client


def require_admin(interaction: discord.Interaction[Any]) -> bool:
    """True for a member with the configured admin role (or Manage Server when none is configured).

    Raises MissingRole / MissingPermissions otherwise, which the tree's error handler answers.
    """
    role_id = stats_bot(interaction).settings.discord.admin_role_id
    user = interaction.user
    if role_id and isinstance(user, discord.Member) and any(r.id == role_id for r in user.roles):
        return True
    if role_id:
        raise app_commands.MissingRole(role_id)
    # No admin role configured: fall back to the Manage Server permission.
    if interaction.permissions.manage_guild:
        return True
    raise app_commands.MissingPermissions(["manage_guild"])


async def reply(interaction: discord.Interaction[Any], content: str | None = None, **kwargs: Any) -> None:
    """Answer whether or not the interaction was deferred; ephemeral unless told otherwise."""
    kwargs.setdefault("ephemeral", True)
    if content is not None:
        kwargs["content"] = content
    if interaction.response.is_done():
        await interaction.followup.send(**kwargs)
    else:
        await interaction.response.send_message(**kwargs)


def _command_name(interaction: discord.Interaction[Any]) -> str:
    return interaction.command.qualified_name if interaction.command else "?"


async def on_command_error(
    interaction: discord.Interaction[Any], error: app_commands.AppCommandError
) -> None:
    """Every slash-command failure ends here: a short ephemeral message; bugs are logged and reported once."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(original, UserFacingError):
        message = str(original)
    elif isinstance(original, ConfigError):  # e.g. an unknown server name typed into a command
        message = original.reason
    elif isinstance(original, app_commands.MissingRole | app_commands.MissingPermissions):
        message = "This command is for admins only."
    elif isinstance(original, app_commands.NoPrivateMessage):
        message = "This command only works in the server."
    elif isinstance(original, app_commands.CommandOnCooldown):
        message = f"Slow down: try again in {original.retry_after:.0f}s."
    elif isinstance(original, app_commands.CheckFailure | app_commands.TransformerError):
        message = "You cannot use this command here."
    else:
        command = _command_name(interaction)
        log.error(
            "command_failed",
            command=command,
            user_id=interaction.user.id,
            options=str(interaction.namespace),
            exc_info=original,
        )
        await _report_once(interaction, command, original)
        message = "Something went wrong; the admins have been told."
    try:
        await reply(interaction, message)
    except discord.HTTPException as exc:
        log.warning("command_error_reply_failed", command=_command_name(interaction), error=str(exc))


async def _report_once(interaction: discord.Interaction[Any], command: str, exc: BaseException) -> None:
    message = f"/{command} failed for <@{interaction.user.id}>: {type(exc).__name__}: {exc}"
    await report_problem(stats_bot(interaction).db, f"command_error:{command}:{type(exc).__name__}", message)


async def report_problem(db: Database, key: str, message: str) -> None:
    """One admin alert per problem key and UTC day, through the outbox (deduped by its key); never raises."""
    day_key = f"{key}:{dt.datetime.now(dt.UTC).date().isoformat()}"
    try:
        async with db.transaction() as tx:
            await outbox.enqueue(
                tx,
                kind=KIND_ALERT,
                channel="admin",
                dedupe_key=day_key,
                payload=alert_payload(day_key, "error", message[:1500]),
                now=time.time(),
            )
    except Exception:
        log.exception("problem_report_failed", key=key)
