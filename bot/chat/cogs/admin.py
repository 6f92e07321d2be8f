"""Admin commands over bot.ops: /diagnose, /sync, /reprocess, /quarantine list|retry (admin role enforced)."""

from __future__ import annotations

import io
import time
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.chat import choices
from bot.chat.fit import FENCE, truncate
from bot.chat.interactions import UserFacingError, require_admin
from bot.db import files
from bot.ops import diagnose as ops_diagnose
from bot.ops import reprocess as ops_reprocess
from bot.ops import sync as ops_sync
from bot.ops.report import render_text

if TYPE_CHECKING:
    from bot.chat.client import StatsBot

Interaction = discord.Interaction[Any]
ADMIN_HINT = discord.Permissions(manage_guild=True)  # UI hint only; require_admin is the real check
TEXT_LIMIT = 1900  # a message is 2,000 characters; longer reports go out as a file


async def send_report(interaction: Interaction, text: str, filename: str) -> None:
    """A text report as a code block, or as an attached file when it is too long to read inline."""
    if len(text) + 2 * len(FENCE) + 2 <= TEXT_LIMIT:
        await interaction.followup.send(f"{FENCE}\n{text}\n{FENCE}", ephemeral=True)
        return
    summary = truncate(text, TEXT_LIMIT - 2 * len(FENCE) - 2)
    await interaction.followup.send(
        f"{FENCE}\n{summary}\n{FENCE}",
        file=discord.File(io.BytesIO(text.encode()), filename=filename),
        ephemeral=True,
    )


class AdminCog(commands.Cog):
    def __init__(self, bot: StatsBot) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: Interaction) -> bool:
        # Runs before every command of this cog, subcommands included: the permission is the bot's own
        # check, not only Discord's default_member_permissions (which server admins can change).
        return require_admin(interaction)

    quarantine = app_commands.Group(
        name="quarantine",
        description="Files set aside because they could not be imported",
        default_permissions=ADMIN_HINT,
        guild_only=True,
    )

    @app_commands.command(name="diagnose", description="Where is each file: remote, local, registry, rounds")
    @app_commands.describe(server="only this game server")
    @app_commands.autocomplete(server=choices.servers)
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def diagnose(self, interaction: Interaction, server: str | None = None) -> None:
        choices.check_server(self.bot, server)
        await interaction.response.defer(ephemeral=True, thinking=True)
        report = await ops_diagnose.diagnose(
            self.bot.db, self.bot.settings, server=server, source_factory=self.bot.source_factory
        )
        await send_report(interaction, render_text(report), "diagnose.txt")

    @app_commands.command(name="sync", description="Import every file of a server that was never imported")
    @app_commands.describe(server="the game server")
    @app_commands.autocomplete(server=choices.servers)
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def sync(self, interaction: Interaction, server: str) -> None:
        choices.check_server(self.bot, server)
        await interaction.response.defer(ephemeral=True, thinking=True)
        result = await ops_sync.sync(
            self.bot.db, self.bot.settings, server=server, source_factory=self.bot.source_factory
        )
        await send_report(interaction, result.render().strip(), "sync.txt")

    @app_commands.command(name="reprocess", description="Re-import one file from its stored content")
    @app_commands.describe(file="the stats file name", server="the game server (if the name is ambiguous)")
    @app_commands.autocomplete(file=choices.stored_files, server=choices.servers)
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def reprocess(self, interaction: Interaction, file: str, server: str | None = None) -> None:
        choices.check_server(self.bot, server)
        targets, problems = await ops_reprocess.select_targets(
            self.bot.db, self.bot.settings, files=[file], server=server
        )
        if problems:
            raise UserFacingError("; ".join(problems))
        await interaction.response.defer(ephemeral=True, thinking=True)
        results = await ops_reprocess.reprocess(self.bot.db, self.bot.settings, targets)
        await send_report(interaction, "\n".join(r.line() for r in results), "reprocess.txt")

    @quarantine.command(name="list", description="Quarantined files and why")
    @app_commands.describe(server="only this game server")
    @app_commands.autocomplete(server=choices.servers)
    async def quarantine_list(self, interaction: Interaction, server: str | None = None) -> None:
        choices.check_server(self.bot, server)
        rows = await files.rows_in_state(self.bot.db, "quarantined", server)
        if not rows:
            await interaction.response.send_message("No file is quarantined.", ephemeral=True)
            return
        await interaction.response.defer(ephemeral=True)
        lines = [f"{r.server}/{r.filename}: {r.last_error or '?'}" for r in rows]
        await send_report(interaction, "\n".join(lines), "quarantine.txt")

    @quarantine.command(name="retry", description="Let the next poll import a quarantined file again")
    @app_commands.describe(file="the stats file name", server="the game server (if the name is ambiguous)")
    @app_commands.autocomplete(file=choices.quarantined_files, server=choices.servers)
    async def quarantine_retry(self, interaction: Interaction, file: str, server: str | None = None) -> None:
        choices.check_server(self.bot, server)
        rows = [
            r for r in await files.rows_in_state(self.bot.db, "quarantined", server) if r.filename == file
        ]
        if not rows:
            raise UserFacingError(f"{file} is not quarantined" + (f" on {server}." if server else "."))
        if len(rows) > 1:
            raise UserFacingError(f"{file} is quarantined on several servers: name the server.")
        row, now = rows[0], time.time()
        async with self.bot.db.transaction() as tx:
            # 'failed' with no attempts and no wait: the poller's retry path picks it up next cycle.
            await files.set_state(
                tx, row.server, row.filename, "failed", now=now, attempts=0, next_attempt_at=0.0
            )
            await files.add_event(
                tx, row.server, row.filename, "retry_requested", {"by": interaction.user.id}, now
            )
        await interaction.response.send_message(
            f"{row.server}/{row.filename} will be retried on the next poll.", ephemeral=True
        )


async def setup(bot: StatsBot) -> None:
    await bot.add_cog(AdminCog(bot))
