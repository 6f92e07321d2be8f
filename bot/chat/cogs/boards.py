"""/leaderboard: more metrics, sensible minimums for ratios, pages, "your rank" (kept aggregates)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.chat import player_views
from bot.chat.buttons import LeaderboardPages
from bot.chat.cogs.players import PERIOD_CHOICES, since
from bot.chat.interactions import reply
from bot.db import player_boards, player_lookup
from bot.db.player_boards import Board

if TYPE_CHECKING:
    from bot.chat.client import StatsBot

Interaction = discord.Interaction[Any]
METRIC_CHOICES = [
    app_commands.Choice(name=label, value=key) for key, label in player_views.METRIC_LABELS.items()
]
PAGE_SIZE = 10


class BoardsCog(commands.Cog):
    def __init__(self, bot: StatsBot) -> None:
        self.bot = bot

    @app_commands.command(name="leaderboard", description="Top players by a metric, with pages and your rank")
    @app_commands.describe(
        metric="what to rank by", period="time span", min_rounds="rounds needed to qualify"
    )
    @app_commands.choices(metric=METRIC_CHOICES, period=PERIOD_CHOICES)
    async def leaderboard(
        self,
        interaction: Interaction,
        metric: app_commands.Choice[str],
        period: app_commands.Choice[str] | None = None,
        min_rounds: app_commands.Range[int, 1, 100000] | None = None,
    ) -> None:
        reads = self.bot.db.reads
        span = period.value if period else "all"
        minimum = min_rounds or player_boards.default_minimum(metric.value, span)
        own = await player_lookup.linked_key(reads, interaction.user.id)
        first_day = since(span)

        async def fetch(page: int) -> Board:
            return await player_boards.board(
                reads, metric.value, since_day=first_day, min_rounds=minimum, offset=page * PAGE_SIZE,
                limit=PAGE_SIZE, own_key=own,
            )  # fmt: skip

        def render(board: Board, page: int, pages: int) -> discord.Embed:
            return player_views.leaderboard_view(board, metric.value, span, minimum, page, pages)

        board = await fetch(0)
        pages = max(1, -(-board.qualifying // PAGE_SIZE))
        embed = render(board, 0, pages)
        if pages == 1:
            await reply(interaction, embed=embed, ephemeral=False)
            return
        view = LeaderboardPages(interaction.user.id, fetch, render, pages)
        await interaction.response.send_message(embed=embed, view=view)


async def setup(bot: StatsBot) -> None:
    await bot.add_cog(BoardsCog(bot))
