"""Commands for everyone: /status, /last_round, /last_session, /stats, /leaderboard, /link, /unlink."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import time
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.chat import views
from bot.chat.chart import MIN_CHART_ROUNDS, rounds_chart
from bot.chat.interactions import UserFacingError, reply
from bot.db import chat_queries, outbox, status
from bot.ingest.session_posts import session_summary_sync

if TYPE_CHECKING:
    from bot.chat.client import StatsBot

METRIC_CHOICES = [app_commands.Choice(name=label, value=key) for key, label in views.METRIC_LABELS.items()]
PERIOD_CHOICES = [app_commands.Choice(name=label, value=key) for key, label in views.PERIODS.items()]
CHART_NAME = "rounds.png"
Interaction = discord.Interaction[Any]


class PublicCog(commands.Cog):
    def __init__(self, bot: StatsBot) -> None:
        self.bot = bot

    @property
    def db(self) -> Any:
        return self.bot.db

    @app_commands.command(name="status", description="Polling status of each game server")
    async def status(self, interaction: Interaction) -> None:
        now = time.time()
        midnight = dt.datetime.now().replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
        embed = views.status_view(
            await status.server_statuses(self.db),
            await chat_queries.file_counts(self.db, since=midnight),
            await outbox.backlog(self.db),
            now,
        )
        await reply(interaction, embed=embed, ephemeral=False)

    @app_commands.command(name="last_round", description="The most recent round")
    @app_commands.describe(server="only this game server")
    async def last_round(self, interaction: Interaction, server: str | None = None) -> None:
        found = await chat_queries.last_round(self.db, server)
        if found is None:
            raise UserFacingError("No round has been imported yet.")
        await reply(interaction, embed=views.round_view(*found), ephemeral=False)

    @app_commands.command(name="last_session", description="The most recent gaming session")
    @app_commands.describe(server="only this game server")
    async def last_session(self, interaction: Interaction, server: str | None = None) -> None:
        session_id = await chat_queries.latest_session_id(self.db, server)
        payload = (
            None if session_id is None else await self.db.run_transaction(session_summary_sync, session_id)
        )
        if payload is None:
            raise UserFacingError("No session has been recorded yet.")
        embed = views.session_view(payload)
        await reply(interaction, embed=embed, ephemeral=False)

    async def _resolve(
        self, interaction: Interaction, player: str | None, member: discord.Member | None
    ) -> str:
        if player:
            found = await chat_queries.find_player(self.db, player)
            if found is None:
                raise UserFacingError(f"No player called {player!r}. Pick a name from the suggestions.")
            return found[0]
        user = member or interaction.user
        guid = await chat_queries.linked_guid(self.db, user.id)
        if guid is None:
            who = "You are" if member is None else f"{user.display_name} is"
            raise UserFacingError(f"{who} not linked to a player: use /link first, or name a player.")
        return guid

    @app_commands.command(name="stats", description="A player's stats, with a chart of recent rounds")
    @app_commands.describe(player="player name", member="a member linked with /link", period="time span")
    @app_commands.choices(period=PERIOD_CHOICES)
    async def stats(
        self,
        interaction: Interaction,
        player: str | None = None,
        member: discord.Member | None = None,
        period: app_commands.Choice[str] | None = None,
    ) -> None:
        guid = await self._resolve(interaction, player, member)
        span = period.value if period else "all"
        totals = await chat_queries.player_totals(
            self.db, guid, since=views.period_start(span, dt.datetime.now())
        )
        if totals is None:
            raise UserFacingError(f"No rounds for that player ({views.PERIODS[span]}).")
        await interaction.response.defer(thinking=True)  # the chart takes a moment
        recent = await chat_queries.player_rounds(self.db, guid)
        if len(recent) < MIN_CHART_ROUNDS:  # a chart of one or two rounds says less than the numbers
            await interaction.followup.send(embed=views.player_view(totals, span, None))
            return
        png = await asyncio.to_thread(rounds_chart, recent, f"{totals.name}: last {len(recent)} rounds")
        embed = views.player_view(totals, span, CHART_NAME)
        await interaction.followup.send(embed=embed, file=discord.File(io.BytesIO(png), filename=CHART_NAME))

    @stats.autocomplete("player")
    async def _player_names(self, interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        found = await chat_queries.search_players(self.db, current, limit=25)
        return [app_commands.Choice(name=name[:100], value=guid) for guid, name in found]

    @app_commands.command(name="leaderboard", description="Top players by a metric")
    @app_commands.describe(
        metric="what to rank by", period="time span", min_rounds="rounds needed to qualify"
    )
    @app_commands.choices(metric=METRIC_CHOICES, period=PERIOD_CHOICES)
    async def leaderboard(
        self,
        interaction: Interaction,
        metric: app_commands.Choice[str],
        period: app_commands.Choice[str] | None = None,
        min_rounds: app_commands.Range[int, 1, 1000] = 5,
    ) -> None:
        span = period.value if period else "all"
        rows = await chat_queries.leaderboard(
            self.db,
            metric.value,
            since=views.period_start(span, dt.datetime.now()),
            min_rounds=min_rounds,
        )
        await reply(
            interaction, embed=views.leaderboard_view(rows, metric.value, span, min_rounds), ephemeral=False
        )

    @app_commands.command(name="link", description="Link your Discord account to your player")
    @app_commands.describe(player="your player name")
    async def link(self, interaction: Interaction, player: str) -> None:
        found = await chat_queries.find_player(self.db, player)
        if found is None:
            raise UserFacingError(f"No player called {player!r}. Pick a name from the suggestions.")
        await chat_queries.link_member(self.db, interaction.user.id, found[0], now=time.time())
        await reply(interaction, f"Linked you to **{found[1]}**. `/stats` now shows your numbers.")

    link.autocomplete("player")(_player_names)

    @app_commands.command(name="unlink", description="Remove the link between your account and a player")
    async def unlink(self, interaction: Interaction) -> None:
        removed = await chat_queries.unlink_member(self.db, interaction.user.id)
        await reply(interaction, "Unlinked." if removed else "You were not linked.")


async def setup(bot: StatsBot) -> None:
    await bot.add_cog(PublicCog(bot))
