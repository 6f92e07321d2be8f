"""Posts as Discord embeds (pure: payload in, embed out, always through fit.fit_embed)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import discord

from bot.chat import format as fmt
from bot.chat import post_lines as lines
from bot.chat.fit import FENCE, LIMITS, fit_embed
from bot.chat.sinks import Post

COLOURS = {
    "round": discord.Colour.blue(),
    "match": discord.Colour.gold(),
    "session": discord.Colour.purple(),
    "alert": discord.Colour.red(),
    "alert_warning": discord.Colour.orange(),
    "alert_info": discord.Colour.blurple(),
    "alert_resolved": discord.Colour.green(),
}
FOOTER_TEXT = "statsbot"
FOOTER_PREFIX = "statsbot · "  # footers before the marker was made invisible: still recognised
NONCE_MAX = 25  # Discord's nonce limit
# The post's nonce rides in the footer as invisible characters (two bits each): reconciliation finds a
# delivered post by it, and players never see an internal id.
_HIDDEN = "\u200b\u200c\u200d\u2060"


def _hide(nonce: str) -> str:
    return "".join(_HIDDEN[(byte >> shift) & 3] for byte in nonce.encode() for shift in (6, 4, 2, 0))


def _reveal(hidden: str) -> str | None:
    if not hidden or len(hidden) % 4:
        return None
    digits = [_HIDDEN.index(c) for c in hidden]
    data = bytes(
        (digits[i] << 6) | (digits[i + 1] << 4) | (digits[i + 2] << 2) | digits[i + 3]
        for i in range(0, len(digits), 4)
    )
    try:
        return data.decode()
    except UnicodeDecodeError:
        return None


def marker_footer(nonce: str, prefix: str = "") -> str:
    """Footer text carrying the post's nonce invisibly: `statsbot` (or `statsbot · prefix`) as seen."""
    shown = f"{FOOTER_PREFIX}{prefix.rstrip(' ·')}" if prefix.strip(" ·") else FOOTER_TEXT
    return shown + _hide(nonce)


def footer_marker(text: str | None) -> str | None:
    """The nonce carried by one of our footers (invisible, or visible at the end as before), else None."""
    if not text or not text.startswith(FOOTER_TEXT):
        return None
    hidden = len(text) - len(text.rstrip(_HIDDEN))
    if hidden:
        token = _reveal(text[-hidden:])
        return token if token and len(token) <= NONCE_MAX else None
    if not text.startswith(FOOTER_PREFIX):
        return None
    token = text.rsplit(" ", 1)[-1]
    return token if 0 < len(token) <= NONCE_MAX else None


def code_chunks(lines: Sequence[str], limit: int = LIMITS.field_value) -> list[str]:
    """Lines packed into code blocks of at most `limit` characters each (one block per field)."""
    room = limit - 2 * len(FENCE) - 2
    chunks: list[list[str]] = [[]]
    size = 0
    for line in lines:
        line = line[:room]
        if chunks[-1] and size + len(line) + 1 > room:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 1
    return [f"{FENCE}\n" + "\n".join(c) + f"\n{FENCE}" for c in chunks if c]


def add_table(embed: discord.Embed, title: str, lines: Sequence[str]) -> None:
    """A fixed-width table as one or more fields; the header line is repeated in each."""
    if len(lines) <= 1:
        return
    header, rows = lines[0], lines[1:]
    chunks = code_chunks(rows, LIMITS.field_value - len(header) - 1)
    for i, chunk in enumerate(chunks):
        value = chunk.replace(f"{FENCE}\n", f"{FENCE}\n{header}\n", 1)
        embed.add_field(name=title if i == 0 else f"{title} (cont.)", value=value, inline=False)


def _description(*parts: str | None) -> str:
    return "\n".join(p for p in parts if p)


def _notes(p: Mapping[str, Any]) -> str | None:
    return "\n".join(f"✨ {n}" for n in p.get("notes") or []) or None


def round_embed(p: Mapping[str, Any], *, footer: str) -> discord.Embed:
    note = lines.round_note(p)
    embed = discord.Embed(
        title=lines.round_title(p),
        description=_description(
            lines.round_outcome(p), f"*{note}*" if note else None, lines.objectives_line(p), _notes(p)
        ),
        colour=COLOURS["round"],
    )
    embed.set_author(name=f"{p['server']} · {fmt.when(str(p['played_at']))}")
    for title, table in lines.round_blocks(p):
        add_table(embed, title, table)
    embed.set_footer(text=footer)
    return embed


def match_embed(p: Mapping[str, Any], *, footer: str) -> discord.Embed:
    embed = discord.Embed(
        title=f"{p['map']} · match",
        description=_description(lines.match_headline(p), _notes(p)),
        colour=COLOURS["match"],
    )
    embed.set_author(name=str(p["server"]))
    for title, table in lines.match_teams(p):
        add_table(embed, title, table)
    top = [f"{i}. {lines.performer(pl)}" for i, pl in enumerate(p.get("top_players") or [], 1)]
    if top:
        embed.add_field(name="Top performers", value="\n".join(top), inline=False)
    embed.set_footer(text=footer)
    return embed


def session_embed(p: Mapping[str, Any], *, footer: str, image: str | None = None) -> discord.Embed:
    maps = [f"{i}. {lines.session_map_line(p, m)}" for i, m in enumerate(p.get("maps") or [], 1)]
    span = f"{fmt.when(str(p['started_at']))} → {fmt.when(str(p['ended_at']))[-5:]}"
    embed = discord.Embed(
        title=lines.session_title(p),
        description=_description(
            lines.session_counts(p), "\n".join(maps) or None, lines.mvp_line(p), _notes(p)
        ),
        colour=COLOURS["session"],
    )
    embed.set_author(name=f"{p['server']} · Session #{p['session_id']} · {span}")
    awards = lines.award_lines(p)
    if awards:
        embed.add_field(name="Awards", value="\n".join(awards), inline=False)
    for title, table in lines.session_teams(p):
        add_table(embed, title, table)
    if image:
        embed.set_image(url=f"attachment://{image}")
    embed.set_footer(text=footer)
    return embed


def alert_embed(p: Mapping[str, Any], *, resolved: bool, footer: str) -> discord.Embed:
    severity = str(p.get("severity", "error"))
    title = "Resolved" if resolved else ("Notice" if severity == "info" else f"Alert · {severity}")
    colour = (
        "alert_resolved"
        if resolved
        else {"info": "alert_info", "warning": "alert_warning"}.get(severity, "alert")
    )
    embed = discord.Embed(title=title, description=str(p.get("message", "")), colour=COLOURS[colour])
    embed.add_field(name="Key", value=f"`{p.get('key', '?')}`", inline=False)
    embed.set_footer(text=footer)
    return embed


def generic_embed(kind: str, p: Mapping[str, Any], *, footer: str) -> discord.Embed:
    """A kind this version does not know: show its values rather than drop the post."""
    embed = discord.Embed(title=kind, description="\n".join(f"**{k}**: {v}" for k, v in sorted(p.items())))
    embed.set_footer(text=footer)
    return embed


CHART_FILE = "session.png"


async def post_chart(post: Post) -> bytes | None:
    """The PNG sent with a post (a session's DPM chart), rendered in a worker thread; else None."""
    chart = post.payload.get("chart") if post.kind == "session" else None
    if not chart:
        return None
    from bot.chat.chart import session_chart  # matplotlib only when a chart is drawn

    title = f"DPM per map · session {post.payload.get('session_id', '')}".rstrip()
    return await asyncio.to_thread(session_chart, chart, title)


def post_embed(post: Post, *, image: str | None = None) -> discord.Embed:
    """The embed of an outbox post: identical for every retry of the same row.

    `image`: the file name of a chart sent with the post (session posts), shown inside the embed.
    """
    footer = marker_footer(post.nonce)
    p = post.payload
    if post.kind == "round":
        embed = round_embed(p, footer=footer)
    elif post.kind == "match":
        embed = match_embed(p, footer=footer)
    elif post.kind == "session":
        embed = session_embed(p, footer=footer, image=image)
    elif post.kind in ("alert", "alert_resolved"):
        embed = alert_embed(p, resolved=post.kind == "alert_resolved", footer=footer)
    else:
        embed = generic_embed(post.kind, p, footer=footer)
    return fit_embed(embed)
