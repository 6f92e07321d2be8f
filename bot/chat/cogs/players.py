"""Player commands: /stats, /compare, /whois, /maps, /records (reads on the read-only connection)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.chat import choices, player_views
from bot.chat.chart import MIN_CHART_ROUNDS, form_chart
from bot.chat.interactions import UserFacingError, reply
from bot.db import maps as db_maps
from bot.db import player_cards, player_lookup
from bot.db.player_lookup import PlayerRef
from bot.stats.matching import period_start_day

if TYPE_CHECKING:
    from bot.chat.client import StatsBot

Interaction = discord.Interaction[Any]
PERIOD_CHOICES = [app_commands.Choice(name=label, value=key) for key, label in player_views.PERIODS.items()]
CHART_NAME = "form.png"
CHART_COOLDOWN_SECONDS = 20.0  # per member: a chart costs ~100 ms of CPU; five in a row wait


def _per_user(interaction: Interaction) -> int:
    return interaction.user.id


def since(period: str) -> str | None:
    """The first day of a period, by the game servers' local calendar (played_at is their local time)."""
    return period_start_day(period, dt.datetime.now().date())  # local, like played_at


class PlayersCog(commands.Cog):
    def __init__(self, bot: StatsBot) -> None:
        self.bot = bot

    @property
    def reads(self) -> Any:
        return self.bot.db.reads

    async def _player(
        self, interaction: Interaction, player: str | None, member: discord.Member | None
    ) -> PlayerRef:
        if player:
            return await choices.resolve_player(self.bot, player)
        user = member or interaction.user
        key = await player_lookup.linked_key(self.reads, user.id)
        found = None if key is None else await player_lookup.get_player(self.reads, key)
        if found is None:
            who = "You are" if member is None else f"{user.display_name} is"
            raise UserFacingError(f"{who} not linked to a player: use /link first, or name a player.")
        return found

    @app_commands.command(name="stats", description="A player's numbers, names, weapons, maps and form")
    @app_commands.describe(
        player="any name they played under", member="a member linked with /link", period="time span"
    )
    @app_commands.choices(period=PERIOD_CHOICES)
    @app_commands.autocomplete(player=choices.players)
    @app_commands.checks.cooldown(1, CHART_COOLDOWN_SECONDS, key=_per_user)
    async def stats(
        self,
        interaction: Interaction,
        player: str | None = None,
        member: discord.Member | None = None,
        period: app_commands.Choice[str] | None = None,
    ) -> None:
        ref = await self._player(interaction, player, member)
        span = period.value if period else "all"
        card = await player_cards.card(self.reads, ref, since_day=since(span))
        await interaction.response.defer(thinking=True)  # the chart takes a moment
        files = []
        if len(card.days) >= MIN_CHART_ROUNDS:  # a chart of one or two days says less than the numbers
            png = await asyncio.to_thread(
                form_chart, [(ref.name, card.days)], f"{ref.name}: K/D by day played"
            )
            files.append(discord.File(io.BytesIO(png), filename=CHART_NAME))
        embed = player_views.stats_view(card, span, CHART_NAME if files else None)
        await interaction.followup.send(embed=embed, files=files)

    @app_commands.command(name="compare", description="Two players side by side")
    @app_commands.describe(player1="a player", player2="another player", period="time span")
    @app_commands.choices(period=PERIOD_CHOICES)
    @app_commands.autocomplete(player1=choices.players, player2=choices.players)
    @app_commands.checks.cooldown(1, CHART_COOLDOWN_SECONDS, key=_per_user)
    async def compare(
        self,
        interaction: Interaction,
        player1: str,
        player2: str,
        period: app_commands.Choice[str] | None = None,
    ) -> None:
        a = await choices.resolve_player(self.bot, player1)
        b = await choices.resolve_player(self.bot, player2)
        if a.key == b.key:
            raise UserFacingError("Pick two different players.")
        span = period.value if period else "all"
        left, right = await player_cards.compare(self.reads, a, b, since_day=since(span))
        await interaction.response.defer(thinking=True)
        series = [(c.player.name, c.days) for c in (left, right) if len(c.days) >= MIN_CHART_ROUNDS]
        files = []
        if series:
            png = await asyncio.to_thread(form_chart, series, "K/D by day played")
            files.append(discord.File(io.BytesIO(png), filename=CHART_NAME))
        embed = player_views.compare_view(left, right, span, CHART_NAME if files else None)
        await interaction.followup.send(embed=embed, files=files)

    @app_commands.command(
        name="whois", description="A player's names, first and last seen, and linked member"
    )
    @app_commands.describe(player="any name they played under")
    @app_commands.autocomplete(player=choices.players)
    async def whois(self, interaction: Interaction, player: str) -> None:
        ref = await choices.resolve_player(self.bot, player)
        card = await player_cards.card(self.reads, ref, days=0)
        members = [f"<@{m}>" for m in card.linked]
        await reply(interaction, embed=player_views.whois_view(ref, card, members), ephemeral=False)

    @app_commands.command(name="maps", description="Per-map results: a player's, a map's best, or every map")
    @app_commands.describe(player="any name they played under", map="one map")
    @app_commands.autocomplete(player=choices.players, map=choices.maps)
    async def maps(self, interaction: Interaction, player: str | None = None, map: str | None = None) -> None:
        ref = await choices.resolve_player(self.bot, player) if player else None
        map_name = None
        if map is not None:
            map_name = await db_maps.known_map(self.reads, map)
            if map_name is None:
                raise UserFacingError(f"No round was played on {map!r}.")
        view = await player_cards.maps_view(self.reads, ref, map_name)
        await reply(interaction, embed=player_views.maps_view(view), ephemeral=False)

    @app_commands.command(
        name="records", description="Best single rounds: most kills, best DPM, fastest objective"
    )
    @app_commands.describe(map="only this map")
    @app_commands.autocomplete(map=choices.maps)
    async def records(self, interaction: Interaction, map: str | None = None) -> None:
        map_name = None
        if map is not None:
            map_name = await db_maps.known_map(self.reads, map)
            if map_name is None:
                raise UserFacingError(f"No round was played on {map!r}.")
        found = await player_cards.records_view(self.reads, map_name)
        await reply(interaction, embed=player_views.records_view(found), ephemeral=False)


async def setup(bot: StatsBot) -> None:
    await bot.add_cog(PlayersCog(bot))
