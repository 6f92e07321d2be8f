"""Slash-command answers as embeds (pure: query results in, embeds out, always through fit_embed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import discord

from bot.chat import format as fmt
from bot.chat.embeds import add_table, round_embed, session_embed
from bot.chat.fit import fit_embed
from bot.db.chat_queries import METRICS, FileCounts, LeaderRow, PlayerTotals
from bot.db.status import ServerStatus
from bot.ingest.posts import kd_value
from bot.stats import derived

METRIC_LABELS = {
    "kills": "Kills",
    "kd": "K/D",
    "damage": "Damage",
    "dpm": "DPM",
    "accuracy": "Accuracy %",
    "headshots": "Headshot kills",
    "revives": "Revives",
    "xp": "XP",
}
PERIODS = {"today": "today", "week": "last 7 days", "month": "last 30 days", "all": "all time"}
FOOTER = "statsbot"


def period_start(period: str, now: dt.datetime) -> str | None:
    """The earliest `played_at` (server-local text) a period covers; None for all time."""
    if period == "today":
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    elif period in ("week", "month"):
        start = now - dt.timedelta(days=7 if period == "week" else 30)
    else:
        return None
    return start.strftime("%Y-%m-%d %H:%M:%S")


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


def status_view(
    statuses: Sequence[ServerStatus], counts: Mapping[str, FileCounts], backlog: int, now: float
) -> discord.Embed:
    healthy = all(s.consecutive_failures == 0 for s in statuses)
    embed = discord.Embed(
        title="statsbot status",
        description=f"Outbox backlog: {backlog} post(s)",
        colour=discord.Colour.green() if healthy else discord.Colour.orange(),
    )
    names = sorted({s.server for s in statuses} | set(counts))
    by_name = {s.server: s for s in statuses}
    for name in names:
        st = by_name.get(name)
        c = counts.get(name, FileCounts(0, 0))
        lines = [
            f"Last poll: {_ago(now - st.last_poll_at if st and st.last_poll_at else None)}",
            f"Lag: {fmt.duration(now - st.last_success_at) if st and st.last_success_at else fmt.DASH}",
            f"Files today: {c.imported} · failing: {c.failing}",
        ]
        if st and st.consecutive_failures:
            lines.append(f"⚠ {st.consecutive_failures} failed poll(s): {(st.last_error or '')[:200]}")
        embed.add_field(name=name, value="\n".join(lines), inline=False)
    if not names:
        embed.description = (embed.description or "") + "\nNo server has been polled yet."
    embed.set_footer(text=FOOTER)
    return fit_embed(embed)


def player_view(t: PlayerTotals, period: str, chart_name: str | None) -> discord.Embed:
    embed = discord.Embed(
        title=t.name,
        description=f"{t.rounds} round{'' if t.rounds == 1 else 's'} · {PERIODS.get(period, period)} · "
        f"{t.first_played[:10]} → {t.last_played[:10]}",
        colour=discord.Colour.blue(),
    )
    values = {
        "Kills": str(t.kills),
        "Deaths": str(t.deaths),
        "K/D": fmt.num(kd_value(t.kills, t.deaths), 2),
        "Damage": fmt.num(t.damage_given),
        "DPM": fmt.num(t.dpm, 1),
        "Accuracy": fmt.num(t.accuracy, 1, "%"),
        "Headshot kills": fmt.num(t.headshot_kills),
        "Revives": fmt.num(t.revives_given),
        "XP": fmt.num(t.xp),
    }
    for name, value in values.items():
        embed.add_field(name=name, value=value, inline=True)
    if chart_name:
        embed.set_image(url=f"attachment://{chart_name}")
    embed.set_footer(text=f"{FOOTER} · {t.guid}")
    return fit_embed(embed)


def leaderboard_view(rows: Sequence[LeaderRow], metric: str, period: str, min_rounds: int) -> discord.Embed:
    digits = METRICS[metric][1]
    embed = discord.Embed(
        title=f"Leaderboard · {METRIC_LABELS[metric]}",
        description=f"{PERIODS.get(period, period)} · at least {min_rounds} round(s)",
        colour=discord.Colour.gold(),
    )
    lines = fmt.table(
        ("Player", METRIC_LABELS[metric], "Rounds"),
        [(f"{i}. {r.name}", fmt.num(r.value, digits), str(r.rounds)) for i, r in enumerate(rows, 1)],
        first_width=20,
    )
    if rows:
        add_table(embed, "Top", lines)
    else:
        embed.description = (embed.description or "") + "\nNobody qualifies yet."
    embed.set_footer(text=FOOTER)
    return fit_embed(embed)


def session_view(payload: Mapping[str, Any]) -> discord.Embed:
    """/last_session: the session post's embed (same builder), marked while the session is open."""
    embed = session_embed(payload, footer=FOOTER)
    if not payload.get("closed"):
        embed.title = (embed.title or "") + " (in progress)"
    return fit_embed(embed)
