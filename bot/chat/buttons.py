"""Buttons under answers: leaderboard pages, and the /link confirmation (only the caller may press)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from bot.db import chat_queries
from bot.db.connection import Database
from bot.db.player_boards import Board

Interaction = discord.Interaction[Any]
TIMEOUT_SECONDS = 300.0


class OwnedView(discord.ui.View):
    """A view whose buttons answer only the member who ran the command."""

    def __init__(self, owner_id: int) -> None:
        super().__init__(timeout=TIMEOUT_SECONDS)
        self.owner_id = owner_id

    async def interaction_check(self, interaction: Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            "Run the command yourself to use these buttons.", ephemeral=True
        )
        return False


class LeaderboardPages(OwnedView):
    """◀ / ▶ through a leaderboard; each press reads the page again (index lookups, a few ms)."""

    def __init__(
        self,
        owner_id: int,
        fetch: Callable[[int], Awaitable[Board]],
        render: Callable[[Board, int, int], discord.Embed],
        pages: int,
    ) -> None:
        super().__init__(owner_id)
        self.fetch, self.render, self.pages, self.page = fetch, render, pages, 0
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.page <= 0
        self.next.disabled = self.page >= self.pages - 1

    async def _show(self, interaction: Interaction, page: int) -> None:
        self.page = max(0, min(page, self.pages - 1))
        board = await self.fetch(self.page)
        self._sync_buttons()
        await interaction.response.edit_message(embed=self.render(board, self.page, self.pages), view=self)

    @discord.ui.button(
        label="◀ Previous", style=discord.ButtonStyle.secondary, custom_id="leaderboard:previous"
    )
    async def previous(self, interaction: Interaction, _: discord.ui.Button[Any]) -> None:
        await self._show(interaction, self.page - 1)

    @discord.ui.button(label="Next ▶", style=discord.ButtonStyle.secondary, custom_id="leaderboard:next")
    async def next(self, interaction: Interaction, _: discord.ui.Button[Any]) -> None:
        await self._show(interaction, self.page + 1)


class LinkConfirm(OwnedView):
    """ "Is this you?" before /link writes: Link / Cancel. An admin's override takes the player over."""

    def __init__(
        self, db: Database, owner_id: int, member_id: int, key: str, name: str, *, take_over: bool
    ) -> None:
        super().__init__(owner_id)
        self.db, self.member_id, self.key, self.name, self.take_over = db, member_id, key, name, take_over

    @discord.ui.button(label="Link", style=discord.ButtonStyle.success, custom_id="link:confirm")
    async def confirm(self, interaction: Interaction, _: discord.ui.Button[Any]) -> None:
        others = await chat_queries.link_member_checked(
            self.db, self.member_id, self.key, now=time.time(), take_over=self.take_over
        )
        self.stop()
        if others and not self.take_over:
            text = f"**{self.name}** was linked to another member meanwhile. Ask an admin if this is you."
        elif self.member_id == self.owner_id:
            text = f"Linked you to **{self.name}**. `/stats` now shows your numbers."
        else:
            text = f"Linked <@{self.member_id}> to **{self.name}**."
            if others:
                text += " (" + ", ".join(f"<@{m}>" for m in others) + " unlinked.)"
        await interaction.response.edit_message(content=text, view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary, custom_id="link:cancel")
    async def cancel(self, interaction: Interaction, _: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Nothing linked.", view=None)
