"""Posts as Discord embeds (pure: payload in, embed out, always through fit.fit_embed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import discord

from bot.chat import format as fmt
from bot.chat.fit import FENCE, LIMITS, fit_embed
from bot.chat.sinks import Post

COLOURS = {
    "round": discord.Colour.blue(),
    "match": discord.Colour.gold(),
    "session": discord.Colour.purple(),
    "alert": discord.Colour.red(),
    "alert_resolved": discord.Colour.green(),
}
FOOTER_PREFIX = "statsbot · "
NONCE_MAX = 25  # Discord's nonce limit; our footers end with the post's nonce


def marker_footer(nonce: str, prefix: str = "") -> str:
    """Footer text ending in the post's nonce: reconciliation finds a delivered post by it."""
    return f"{FOOTER_PREFIX}{prefix}{nonce}"


def footer_marker(text: str | None) -> str | None:
    """The nonce at the end of one of our footers, else None."""
    if not text or not text.startswith(FOOTER_PREFIX):
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


def round_embed(p: Mapping[str, Any], *, footer: str) -> discord.Embed:
    lines = [fmt.round_outcome(p)]
    note = fmt.round_note(p)
    if note:
        lines.append(f"*{note}*")
    if fmt.shown_flags(p):
        lines.append("Flags: " + ", ".join(f"`{f}`" for f in fmt.shown_flags(p)))
    embed = discord.Embed(
        title=fmt.round_title(p),
        description="\n".join(lines),
        colour=COLOURS["round"],
    )
    embed.set_author(name=f"{p['server']} · {fmt.when(str(p['played_at']))}")
    add_table(embed, f"Players ({len(p.get('players') or [])})", fmt.round_rows(p))
    embed.set_footer(text=footer)
    return embed


def match_embed(p: Mapping[str, Any], *, footer: str) -> discord.Embed:
    embed = discord.Embed(
        title=f"Match · {p['map']}", description=fmt.match_outcome(p), colour=COLOURS["match"]
    )
    embed.set_author(name=str(p["server"]))
    add_table(embed, "Top players (R1+R2)", fmt.top_rows(list(p.get("top_players") or [])))
    embed.set_footer(text=footer)
    return embed


def session_embed(p: Mapping[str, Any], *, footer: str) -> discord.Embed:
    description = (
        f"{fmt.when(str(p['started_at']))} → {fmt.when(str(p['ended_at']))} · {p['rounds']} rounds\n"
        f"Maps: {', '.join(p.get('maps') or []) or fmt.DASH}\n"
        f"Matches: {fmt.score_line(p.get('score') or {})}"
    )
    embed = discord.Embed(
        title=f"Session #{p['session_id']} · {p['server']}",
        description=description,
        colour=COLOURS["session"],
    )
    add_table(embed, "Best players", fmt.top_rows(list(p.get("best_players") or [])))
    embed.set_footer(text=footer)
    return embed


def alert_embed(p: Mapping[str, Any], *, resolved: bool, footer: str) -> discord.Embed:
    title = "Resolved" if resolved else f"Alert · {p.get('severity', 'error')}"
    embed = discord.Embed(
        title=title,
        description=str(p.get("message", "")),
        colour=COLOURS["alert_resolved" if resolved else "alert"],
    )
    embed.add_field(name="Key", value=f"`{p.get('key', '?')}`", inline=False)
    embed.set_footer(text=footer)
    return embed


def generic_embed(kind: str, p: Mapping[str, Any], *, footer: str) -> discord.Embed:
    """A kind this version does not know: show its values rather than drop the post."""
    embed = discord.Embed(title=kind, description="\n".join(f"**{k}**: {v}" for k, v in sorted(p.items())))
    embed.set_footer(text=footer)
    return embed


def post_embed(post: Post) -> discord.Embed:
    """The embed of an outbox post: identical for every retry of the same row."""
    footer = marker_footer(post.nonce)
    p = post.payload
    if post.kind == "round":
        embed = round_embed(p, footer=footer)
    elif post.kind == "match":
        embed = match_embed(p, footer=footer)
    elif post.kind == "session":
        embed = session_embed(p, footer=footer)
    elif post.kind in ("alert", "alert_resolved"):
        embed = alert_embed(p, resolved=post.kind == "alert_resolved", footer=footer)
    else:
        embed = generic_embed(post.kind, p, footer=footer)
    return fit_embed(embed)
