"""Feed Discord gateway events into a real discord.py client: guild cache and INTERACTION_CREATE payloads."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from typing import Any

import discord

from tests.helpers.fake_discord import ADMIN_ROLE, APP_ID, BOT_USER, EVERYONE_ROLE, GUILD_ID, STATS_CHANNEL

MEMBER_ID = 77
_ids = itertools.count(900)


def guild_create(client: discord.Client) -> None:
    """What the gateway sends after connecting: the guild with its roles (member roles resolve from it)."""
    role = dict(EVERYONE_ROLE)
    admin = {**role, "id": str(ADMIN_ROLE), "name": "stats admin", "position": 2}
    guild: Any = {
        "id": str(GUILD_ID),
        "name": "fake guild",
        "owner_id": "1",
        "roles": [role, admin],
        "emojis": [],
        "stickers": [],
        "features": [],
        "icon": None,
        "channels": [],
        "members": [],
        "member_count": 2,
        "unavailable": False,
        "large": False,
        "joined_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    client._connection.parse_guild_create(guild)


def option(name: str, value: Any, kind: int = 3, focused: bool = False) -> dict[str, Any]:
    """An option of a command payload (type 3 string, 4 integer, 6 user)."""
    return {"name": name, "type": kind, "value": value, **({"focused": True} if focused else {})}


def payload(
    name: str,
    options: list[dict[str, Any]] | None = None,
    *,
    roles: tuple[int, ...] = (),
    permissions: int = 0,
    kind: int = 2,
    resolved: dict[str, Any] | None = None,
    user_id: int = MEMBER_ID,
) -> dict[str, Any]:
    """An INTERACTION_CREATE for a slash command (kind 2) or its autocomplete (kind 4) from member 77."""
    now = dt.datetime.now(dt.UTC).isoformat()
    interaction_id = str(next(_ids))
    data: dict[str, Any] = {
        "id": "1",
        "name": name,
        "type": 1,
        "guild_id": str(GUILD_ID),
        "options": options or [],
    }
    if resolved:
        data["resolved"] = resolved
    return {
        "id": interaction_id,
        "application_id": APP_ID,
        "type": kind,
        "token": f"tok{interaction_id}",
        "version": 1,
        "guild_id": str(GUILD_ID),
        "channel_id": str(STATS_CHANNEL),
        "channel": {
            "id": str(STATS_CHANNEL),
            "type": 0,
            "guild_id": str(GUILD_ID),
            "name": "stats",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
        },
        "locale": "en-US",
        "app_permissions": "0",
        "entitlements": [],
        "attachment_size_limit": 8 << 20,
        "member": {
            "user": {**BOT_USER, "id": str(user_id), "username": f"member{user_id}", "bot": False},
            "roles": [str(r) for r in roles],
            "joined_at": now,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": str(permissions),
        },
        "data": data,
    }


def button(
    custom_id: str, *, message_id: str = "6000", user_id: int = MEMBER_ID, roles: tuple[int, ...] = ()
) -> dict[str, Any]:
    """An INTERACTION_CREATE for a press of button `custom_id` under message `message_id` (the fake
    server answers every interaction callback with message id 6000: the view discord.py stored)."""
    event = payload("button", user_id=user_id, roles=roles, kind=3)
    event["data"] = {"component_type": 2, "custom_id": custom_id}
    event["message"] = {
        "id": message_id, "channel_id": str(STATS_CHANNEL), "type": 0, "content": "", "author": BOT_USER,
        "embeds": [], "attachments": [], "mentions": [], "mention_roles": [], "pinned": False, "tts": False,
        "timestamp": dt.datetime.now(dt.UTC).isoformat(), "edited_timestamp": None, "flags": 0,
        "components": [],
    }  # fmt: skip
    return event


def subcommand(
    group: str, name: str, options: list[dict[str, Any]] | None = None, **kw: Any
) -> dict[str, Any]:
    return payload(group, [{"name": name, "type": 1, "options": options or []}], **kw)


async def dispatch(client: discord.Client, event: dict[str, Any], *, seconds: float = 10) -> None:
    """Hand the event to discord.py as the gateway would, and wait for the command tree to finish it."""
    client._connection.parse_interaction_create(event)  # type: ignore[arg-type]
    async with asyncio.timeout(seconds):
        while True:
            await asyncio.sleep(0.01)
            if not [t for t in asyncio.all_tasks() if _is_handler(t.get_name())]:
                return


def _is_handler(task_name: str) -> bool:
    """The command tree's task, or a view's button callback task."""
    return "CommandTree" in task_name or task_name.startswith("discord-ui-view-dispatch")
