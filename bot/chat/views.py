"""Slash-command answers as embeds (pure: query results in, embeds out, always through fit_embed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import discord

from bot.chat import format as fmt
from bot.chat.embeds import round_embed, session_embed
from bot.chat.fit import fit_embed
from bot.db.chat_queries import FileCounts
from bot.db.status import ServerStatus
from bot.ingest.posts import kd_value
from bot.stats import derived
from bot.stats.matching import plural

FOOTER = "statsbot"


def player_line(row: Mapping[str, Any], duration_s: int | None) -> dict[str, Any]:
    """A stored player row as a round post's player line (same numbers as the auto-post)."""
    minutes = row.get("time_played_min")
    seconds = round(minutes * 60) if minutes else duration_s
    damage = row.get("damage_given")
    dpm = None if damage is None else derived.per_minute(damage, seconds)
    accuracy = derived.accuracy_pct(int(row.get("hits") or 0), int(row.get("shots") or 0))
    return {
        **row,
        "time_played_s": None if minutes is None else round(minutes * 60),
        "kd": kd_value(int(row["kills"]), int(row["deaths"])),
        "dpm": None if dpm is None else round(dpm, 2),
        "accuracy": None if accuracy is None else round(accuracy, 2),
        "flags": [f for f in str(row.get("flags") or "").split(",") if f],
    }


def round_view(round_row: Mapping[str, Any], players: Sequence[Mapping[str, Any]]) -> discord.Embed:
    payload = {
        **round_row,
        "result": "held" if round_row["winner"] == round_row["defender"] else "completed",
        "flags": [f for f in str(round_row.get("flags") or "").split(",") if f],
        "played_at": str(round_row["played_at"]).replace(" ", "T"),
        "players": [player_line(p, round_row.get("duration_s")) for p in players],
    }
    return fit_embed(round_embed(payload, footer=FOOTER))


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    return f"{fmt.duration(max(0.0, seconds))} ago"


def ago_words(seconds: float) -> str:
    """`just now`, `3 min ago`, `2 h ago`, `5 days ago`: how long ago, as a player reads it."""
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def _healthy(st: ServerStatus | None, now: float, stale_after: float) -> bool:
    """Polled successfully, recently, and not failing now ("never polled" is not healthy)."""
    return (
        st is not None
        and st.consecutive_failures == 0
        and st.last_success_at is not None
        and now - st.last_success_at <= stale_after
    )


def status_view(
    statuses: Sequence[ServerStatus],
    counts: Mapping[str, FileCounts],
    backlog: int,
    now: float,
    *,
    servers: Sequence[str],
    last_rounds: Mapping[str, tuple[str, float] | None],
    admin: bool,
    stale_after: float = 600.0,
) -> discord.Embed:
    """Per configured server: when its last round came in. Admins also see polls, files, errors, backlog."""
    by_name = {s.server: s for s in statuses}
    names = list(servers) or sorted(by_name)
    healthy = bool(names) and all(_healthy(by_name.get(n), now, stale_after) for n in names)
    embed = discord.Embed(
        title="statsbot status",
        colour=discord.Colour.green() if healthy else discord.Colour.orange(),
    )
    if admin:
        embed.description = f"Outbox backlog: {plural(backlog, 'post')}"
    for name in names:
        st = by_name.get(name)
        last = last_rounds.get(name)
        lines = [
            f"Last round imported: {ago_words(now - last[1]) if last else 'none yet'}"
            + (f" (played {last[0][:16]})" if last else ""),
            "Watching for new rounds" if _healthy(st, now, stale_after) else "⚠ Not reaching the game server",
        ]
        if admin:
            c = counts.get(name, FileCounts(0, 0))
            lines += [
                f"Last poll: {_ago(now - st.last_poll_at if st and st.last_poll_at else None)}",
                f"Files today: {c.imported} · failing: {c.failing}",
            ]
            if st and st.consecutive_failures:
                lines.append(
                    f"⚠ {plural(st.consecutive_failures, 'failed poll')}: {(st.last_error or '')[:200]}"
                )
        embed.add_field(name=name, value="\n".join(lines), inline=False)
    if not names:
        embed.description = "\n".join(filter(None, [embed.description, "No server has been polled yet."]))
    embed.set_footer(text=FOOTER)
    return fit_embed(embed)


def session_view(payload: Mapping[str, Any]) -> discord.Embed:
    """/last_session: the session post's embed (same builder), marked while the session is open."""
    embed = session_embed(payload, footer=FOOTER)
    if not payload.get("closed"):
        embed.title = (embed.title or "") + " (in progress)"
    return fit_embed(embed)
