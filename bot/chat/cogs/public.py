"""Commands for everyone: /status, /last_round, /last_session, /link, /unlink."""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.chat import choices, player_views, views
from bot.chat.buttons import LinkConfirm
from bot.chat.interactions import UserFacingError, reply, require_admin
from bot.db import chat_queries, leader_status, outbox, player_cards, records, status
from bot.ingest.session_posts import session_summary_sync

if TYPE_CHECKING:
    from bot.chat.client import StatsBot

Interaction = discord.Interaction[Any]


class PublicCog(commands.Cog):
    def __init__(self, bot: StatsBot) -> None:
        self.bot = bot

    @property
    def reads(self) -> Any:
        return self.bot.db.reads

    @app_commands.command(name="status", description="Are new rounds coming in? (admins see the details)")
    async def status(self, interaction: Interaction) -> None:
        now = time.time()
        admin = choices.is_admin(interaction)
        servers = [s.name for s in self.bot.settings.servers]
        midnight = dt.datetime.now().replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        last = {name: await records.last_import(self.reads, name) for name in servers}
        polls = [s.poll_seconds for s in self.bot.settings.servers] or [10.0]
        embed = views.status_view(
            await status.server_statuses(self.reads),
            await chat_queries.file_counts(self.reads, since=midnight) if admin else {},
            await outbox.backlog(self.reads) if admin else 0,
            now,
            servers=servers,
            last_rounds=last,
            admin=admin,
            stale_after=max(300.0, 10 * max(polls)),
        )
        role = await leader_status.role_text(self.bot.db, self.bot.settings.database.instance)
        if role is not None:  # two instances on PostgreSQL: which one answers, which one polls
            embed.add_field(name="This instance", value=role, inline=False)
        await reply(interaction, embed=embed, ephemeral=False)

    @app_commands.command(name="last_round", description="The most recent round")
    @app_commands.describe(server="only this game server")
    @app_commands.autocomplete(server=choices.servers)
    async def last_round(self, interaction: Interaction, server: str | None = None) -> None:
        server = choices.check_server(self.bot, server)
        found = await chat_queries.last_round(self.reads, server)
        if found is None:
            raise UserFacingError("No round has been imported yet.")
        await reply(interaction, embed=views.round_view(*found), ephemeral=False)

    @app_commands.command(name="last_session", description="The most recent gaming session")
    @app_commands.describe(server="only this game server")
    @app_commands.autocomplete(server=choices.servers)
    async def last_session(self, interaction: Interaction, server: str | None = None) -> None:
        server = choices.check_server(self.bot, server)
        session_id = await chat_queries.latest_session_id(self.reads, server)
        payload = (
            None
            if session_id is None
            else await self.bot.db.run_transaction(session_summary_sync, session_id)
        )
        if payload is None:
            raise UserFacingError("No session has been recorded yet.")
        embed = views.session_view(payload)
        await reply(interaction, embed=embed, ephemeral=False)

    @app_commands.command(
        name="link", description="Link your Discord account to your player (admins: any member)"
    )
    @app_commands.describe(
        player="your player name (any name you played under)", member="admins: link this member"
    )
    @app_commands.autocomplete(player=choices.players)
    async def link(self, interaction: Interaction, player: str, member: discord.Member | None = None) -> None:
        take_over = member is not None and member.id != interaction.user.id
        if take_over:
            require_admin(interaction)  # only admins link other members (and may take a claimed player)
        target = member or interaction.user
        ref = await choices.resolve_player(self.bot, player)
        card = await player_cards.card(self.reads, ref, days=0)
        others = [m for m in card.linked if m != target.id]
        if others and not take_over:
            if not choices.is_admin(interaction):
                raise UserFacingError(
                    f"**{ref.name}** is already linked to another member. If this is you, ask an admin."
                )
            take_over = True  # an admin linking themselves to a claimed player: the override, confirmed below
        prompt = player_views.link_prompt(card)
        if target.id != interaction.user.id:
            prompt = prompt.replace("Link your account", f"Link {target.mention}", 1)
        if others:
            prompt += "\nNow linked to " + ", ".join(f"<@{m}>" for m in others) + " (they will be unlinked)."
        view = LinkConfirm(
            self.bot.db, interaction.user.id, target.id, ref.key, ref.name, take_over=take_over
        )
        await interaction.response.send_message(prompt, view=view, ephemeral=True)

    @app_commands.command(name="unlink", description="Remove the link between your account and a player")
    async def unlink(self, interaction: Interaction) -> None:
        removed = await chat_queries.unlink_member(self.bot.db, interaction.user.id)
        await reply(interaction, "Unlinked." if removed else "You were not linked.")


async def setup(bot: StatsBot) -> None:
    await bot.add_cog(PublicCog(bot))
