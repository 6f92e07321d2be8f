"""Autocomplete and argument checks shared by the cogs: players, servers, maps, file names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.chat.interactions import UserFacingError, stats_bot
from bot.db import chat_queries, player_lookup
from bot.db import maps as db_maps
from bot.db.player_lookup import PlayerRef
from bot.stats.matching import plural

if TYPE_CHECKING:
    from bot.chat.client import StatsBot

Interaction = discord.Interaction[Any]
Choices = list[app_commands.Choice[str]]


def check_server(bot: StatsBot, server: str | None) -> str | None:
    """`server` when it is configured; a short "unknown server" answer otherwise."""
    if server is None:
        return None
    names = [s.name for s in bot.settings.servers]
    if server not in names:
        known = ", ".join(names) or "none"
        raise UserFacingError(f"Unknown server {server!r}. Servers: {known}.")
    return server


def is_admin(interaction: Interaction) -> bool:
    """require_admin without the refusal: what /status shows depends on it."""
    from bot.chat.interactions import require_admin

    try:
        return require_admin(interaction)
    except app_commands.AppCommandError:
        return False


async def resolve_player(bot: StatsBot, text: str) -> PlayerRef:
    """The player named (by key from the suggestions, or any name they played under)."""
    found = await player_lookup.find_player(bot.db.reads, text)
    if found is None:
        raise UserFacingError(f"No player called {text!r}. Pick a name from the suggestions.")
    return found


async def players(interaction: Interaction, current: str) -> Choices:
    """Names as typed match any alias (case and colour codes ignored); the value is the player key."""
    found = await player_lookup.search(stats_bot(interaction).db.reads, current, limit=25)
    out = []
    for s in found:
        label = s.name if s.alias == s.name else f"{s.name} (aka {s.alias})"
        out.append(
            app_commands.Choice(name=f"{label} · {plural(s.rounds, 'round')}"[:100], value=s.key[:100])
        )
    return out


async def servers(interaction: Interaction, current: str) -> Choices:
    names = [s.name for s in stats_bot(interaction).settings.servers]
    text = current.lower()
    return [app_commands.Choice(name=n, value=n) for n in names if text in n.lower()][:25]


async def maps(interaction: Interaction, current: str) -> Choices:
    found = await db_maps.map_names(stats_bot(interaction).db.reads, current, limit=25)
    return [app_commands.Choice(name=m[:100], value=m[:100]) for m in found]


async def stored_files(interaction: Interaction, current: str) -> Choices:
    """/reprocess: files of the registry whose name starts with (or contains) what was typed."""
    bot = stats_bot(interaction)
    found = await chat_queries.file_names(
        bot.db.reads, [s.name for s in bot.settings.servers], current, limit=25
    )
    return [app_commands.Choice(name=f"{server}/{name}"[:100], value=name[:100]) for server, name in found]


async def quarantined_files(interaction: Interaction, current: str) -> Choices:
    bot = stats_bot(interaction)
    found = await chat_queries.file_names(
        bot.db.reads, [s.name for s in bot.settings.servers], current, state="quarantined", limit=25
    )
    return [app_commands.Choice(name=f"{server}/{name}"[:100], value=name[:100]) for server, name in found]
