"""A fake Discord REST API (aiohttp on 127.0.0.1) that real discord.py talks to over HTTP.

It keeps what a channel reader would see (messages per channel, edited in place by PATCH), dedupes
`enforce_nonce` sends within a window like Discord, and can be scripted to fail: status codes
(500/503/403/...), 429 with retry_after, accept-then-drop-the-connection (the ambiguous failure),
drop-before-accept, accept-then-stall; edits (PATCH) have their own scripted status codes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import discord
from aiohttp import BodyPartReader, web

APP_ID = "42"
BOT_USER = {
    "id": "1000",
    "username": "statsbot",
    "discriminator": "0",
    "global_name": None,
    "avatar": None,
    "bot": True,
}
GUILD_ID = 10
STATS_CHANNEL = 20
ADMIN_CHANNEL = 21
ADMIN_ROLE = 500
# The bot's role in the fake guild: view, send, embed links, attach files, read history.
# The guild's @everyone role as Discord sends it (the REST fake and the gateway payloads share it).
EVERYONE_ROLE: dict[str, Any] = {
    "id": str(GUILD_ID),
    "name": "@everyone",
    "permissions": "0",
    "position": 0,
    "color": 0,
    "hoist": False,
    "managed": False,
    "mentionable": False,
    "flags": 0,
}
BOT_ROLE_PERMISSIONS = 0x400 | 0x800 | 0x4000 | 0x8000 | 0x10000


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py compares Content-Type with 'application/json' exactly (no charset suffix allowed).
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


@dataclass
class Fault:
    """One scripted answer to a message POST instead of the normal one."""

    status: int = 0  # HTTP status to answer with (0 = none: see drop)
    retry_after: float = 0.0  # for 429
    drop: str = ""  # "after_accept": store the message, then cut the connection; "before_accept": just cut
    stall: float = 0.0  # store the message, then wait this long before answering (a sender killed mid-send)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[tuple[str, str, int]] = field(default_factory=list)


class FakeDiscord:
    """State and handlers; start it with `running()`."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.messages: dict[int, list[dict[str, Any]]] = {}  # channel id → messages, oldest first
        self.faults: list[Fault] = []  # consumed by message POSTs, one per request
        self.stalled: list[dict[str, Any]] = []  # messages stored whose answer a `stall` fault holds back
        self.edit_faults: list[Fault] = []  # consumed by message PATCHes (edits), one per request
        self.nonce_window = 120.0  # seconds a nonce is remembered (Discord: "the past few minutes")
        self._nonces: dict[tuple[int, str], tuple[float, dict[str, Any]]] = {}
        self.channels: dict[int, dict[str, Any]] = {}
        self.channel_overwrites: dict[int, list[dict[str, Any]]] = {}
        self.commands: list[dict[str, Any]] = []
        self.port = 0
        self.token_ok = True  # False: login is refused with 401 like a revoked token
        self.history_forbidden = False  # True: reading messages answers 403 (no Read Message History)
        self.commands_status = 200  # the answer to a command sync (403: no applications.commands scope)
        self._ids = itertools.count(10_000)
        for channel_id, name in ((STATS_CHANNEL, "stats"), (ADMIN_CHANNEL, "admin")):
            self.add_channel(channel_id, name)

    # ---- state helpers ---------------------------------------------------------------------------
    def add_channel(self, channel_id: int, name: str, overwrites: list[dict[str, Any]] | None = None) -> None:
        self.channels[channel_id] = {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(GUILD_ID),
            "name": name,
            "position": 0,
            "permission_overwrites": overwrites or [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }

    def visible(self, channel_id: int = STATS_CHANNEL) -> list[dict[str, Any]]:
        return self.messages.get(channel_id, [])

    def posts(self, path_suffix: str = "/messages", method: str = "POST") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.endswith(path_suffix)]

    def message(self, channel_id: int, payload: dict[str, Any], attachments: list[Any]) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC).isoformat()
        return {
            "id": str(next(self._ids)),
            "channel_id": str(channel_id),
            "type": 0,
            "content": payload.get("content") or "",
            "author": BOT_USER,
            "embeds": payload.get("embeds") or [],
            "attachments": attachments,
            "mentions": [],
            "mention_roles": [],
            "pinned": False,
            "tts": False,
            "timestamp": now,
            "edited_timestamp": None,
            "flags": payload.get("flags", 0),
            "components": [],
            **({"nonce": payload["nonce"]} if "nonce" in payload else {}),
        }

    # ---- HTTP ---------------------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        tail = request.match_info["tail"]
        rec = Recorded(request.method, "/" + tail, dict(request.query), None)
        if request.content_type == "application/json":
            rec.json = await request.json()
        elif request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "payload_json":
                    rec.json = json.loads(await part.text())
                else:
                    data = await part.read()
                    rec.files.append((str(part.name), str(part.filename), len(data)))
        self.requests.append(rec)
        parts = tail.split("/")
        if tail == "users/@me":
            if not self.token_ok:
                return _json({"message": "401: Unauthorized", "code": 0}, status=401)
            return _json(BOT_USER)
        if tail == "oauth2/applications/@me":
            return _json(
                {
                    "id": APP_ID,
                    "name": "statsbot",
                    "description": "",
                    "icon": None,
                    "bot_public": False,
                    "bot_require_code_grant": False,
                    "owner": {**BOT_USER, "id": "1", "bot": False},
                    "verify_key": "x",
                    "flags": 0,
                    "team": None,
                }
            )
        if parts[0] == "channels" and len(parts) >= 2:
            return await self._channel(request, rec, int(parts[1]), parts[2:])
        if parts[0] == "guilds" and len(parts) >= 2:
            return self._guild(int(parts[1]), parts[2:])
        if parts[0] == "applications" and parts[-1] == "commands" and request.method == "PUT":
            if self.commands_status != 200:
                return _json({"message": "refused", "code": 50001}, status=self.commands_status)
            self.commands = [
                {**c, "id": str(next(self._ids)), "application_id": APP_ID, "version": "1"}
                for c in rec.json or []
            ]
            return _json(self.commands)
        if parts[0] == "interactions" and parts[-1] == "callback":
            return self._callback(parts[1], rec)
        if parts[0] == "webhooks" and request.method in ("POST", "PATCH"):
            return _json(
                {
                    **self.message(STATS_CHANNEL, rec.json or {}, self._attachments(rec)),
                    "webhook_id": parts[1],
                }
            )
        return _json({"message": "404: Not Found", "code": 0}, status=404)

    def _attachments(self, rec: Recorded) -> list[dict[str, Any]]:
        return [
            {
                "id": str(next(self._ids)),
                "filename": fn,
                "size": n,
                "url": f"http://x/{fn}",
                "proxy_url": f"http://x/{fn}",
            }
            for (_, fn, n) in rec.files
        ]

    async def _channel(
        self, request: web.Request, rec: Recorded, channel_id: int, rest: list[str]
    ) -> web.StreamResponse:
        if channel_id not in self.channels:
            return _json({"message": "Unknown Channel", "code": 10003}, status=404)
        if not rest and request.method == "GET":
            return _json(self.channels[channel_id])
        if rest == ["messages"] and request.method == "GET" and self.history_forbidden:
            return _json({"message": "Missing Access", "code": 50001}, status=403)
        if rest == ["messages"] and request.method == "GET":
            limit = int(request.query.get("limit", "50"))
            return _json(list(reversed(self.visible(channel_id)))[:limit])  # newest first, like Discord
        if rest == ["messages"] and request.method == "POST":
            return await self._create_message(request, rec, channel_id)
        if len(rest) == 2 and rest[0] == "messages" and request.method == "PATCH":
            return self._edit_message(request, rec, channel_id, rest[1])
        return _json({"message": "404: Not Found", "code": 0}, status=404)

    def _edit_message(
        self, request: web.Request, rec: Recorded, channel_id: int, message_id: str
    ) -> web.StreamResponse:
        """Edit one of the channel's messages in place (its id stays), like Discord's PATCH."""
        fault = self.edit_faults.pop(0) if self.edit_faults else None
        if fault is not None and fault.drop == "before_accept":
            return self._cut(request)
        if fault is not None and fault.status:
            return _json({"message": f"fake {fault.status}", "code": 0}, status=fault.status)
        for msg in self.visible(channel_id):
            if msg["id"] == message_id:
                payload = rec.json or {}
                for key in ("content", "embeds", "flags", "components"):
                    if key in payload:
                        msg[key] = payload[key]
                msg["edited_timestamp"] = dt.datetime.now(dt.UTC).isoformat()
                if fault is not None and fault.drop == "after_accept":
                    return self._cut(request)
                return _json(msg)
        return _json({"message": "Unknown Message", "code": 10008}, status=404)

    async def _create_message(
        self, request: web.Request, rec: Recorded, channel_id: int
    ) -> web.StreamResponse:
        payload = rec.json or {}
        fault = self.faults.pop(0) if self.faults else None
        if fault is not None and fault.drop == "before_accept":
            return self._cut(request)
        if fault is not None and fault.status == 429:
            return _json(
                {"message": "You are being rate limited.", "retry_after": fault.retry_after, "global": False},
                status=429,
                headers={
                    "Via": "1.1 google",
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset-After": str(fault.retry_after),
                    "X-RateLimit-Bucket": "msgs",
                    "X-RateLimit-Scope": "user",
                },
            )
        if fault is not None and fault.status:
            code = {403: 50001, 404: 10003, 400: 50035}.get(fault.status, 0)
            return _json({"message": f"fake {fault.status}", "code": code}, status=fault.status)
        nonce = payload.get("nonce")
        if nonce is not None and payload.get("enforce_nonce"):
            seen = self._nonces.get((channel_id, str(nonce)))
            if seen is not None and time.monotonic() - seen[0] <= self.nonce_window:
                return _json(seen[1])  # Discord returns the message created earlier with this nonce
        msg = self.message(channel_id, payload, self._attachments(rec))
        self.messages.setdefault(channel_id, []).append(msg)
        if nonce is not None:
            self._nonces[(channel_id, str(nonce))] = (time.monotonic(), msg)
        if fault is not None and fault.drop == "after_accept":
            return self._cut(request)
        if fault is not None and fault.stall:
            self.stalled.append(msg)
            await asyncio.sleep(fault.stall)
        return _json(msg)

    def expire_nonces(self) -> None:
        """Forget every nonce, as Discord does after its window."""
        self._nonces.clear()

    @staticmethod
    def _cut(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()  # the client sees the connection drop without any response
        return web.Response(status=200)

    def _guild(self, guild_id: int, rest: list[str]) -> web.Response:
        if guild_id != GUILD_ID:
            return _json({"message": "Unknown Guild", "code": 10004}, status=404)
        if not rest:
            role = dict(EVERYONE_ROLE)
            bot_role = {
                **role,
                "id": "600",
                "name": "statsbot",
                "permissions": str(BOT_ROLE_PERMISSIONS),
                "position": 1,
                "managed": True,
            }
            return _json(
                {
                    "id": str(GUILD_ID),
                    "name": "fake guild",
                    "owner_id": "1",
                    "roles": [role, bot_role],
                    "emojis": [],
                    "stickers": [],
                    "features": [],
                    "icon": None,
                }
            )
        if rest[0] == "members" and len(rest) == 2:
            return _json(
                {
                    "user": BOT_USER,
                    "roles": ["600"],
                    "joined_at": dt.datetime.now(dt.UTC).isoformat(),
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                }
            )
        return _json({"message": "404: Not Found", "code": 0}, status=404)

    def _callback(self, interaction_id: str, rec: Recorded) -> web.Response:
        body = rec.json or {}
        data = body.get("data") or {}
        resource: dict[str, Any] = {"type": body.get("type")}
        if body.get("type") == 4:
            resource["message"] = self.message(STATS_CHANNEL, data, self._attachments(rec))
        return _json(
            {
                "interaction": {
                    "id": interaction_id,
                    "type": 2,
                    "response_message_loading": body.get("type") == 5,
                    "response_message_ephemeral": bool(data.get("flags", 0) & 64),
                    "response_message_id": "6000",
                },
                "resource": resource,
            }
        )


@asynccontextmanager
async def running(fake: FakeDiscord | None = None) -> AsyncIterator[FakeDiscord]:
    """Serve `fake` on 127.0.0.1 and point discord.py at it (restored afterwards)."""
    fake = fake or FakeDiscord()
    app = web.Application()
    app.router.add_route("*", "/api/v10/{tail:.*}", fake.handle)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.Server)
    fake.port = server.sockets[0].getsockname()[1]
    old_base = discord.http.Route.BASE
    discord.http.Route.BASE = f"http://127.0.0.1:{fake.port}/api/v10"
    try:
        yield fake
    finally:
        discord.http.Route.BASE = old_base
        await runner.cleanup()
