"""Player command answers as embeds (pure: query results in, embeds out, fitted to Discord's limits).

Tables are fixed-width code blocks of at most ~40 columns, so they read on a phone without wrapping.
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot.chat import format as fmt
from bot.chat.embeds import add_table
from bot.chat.fit import fit_embed
from bot.db.player_boards import METRICS, Board, Totals, unit
from bot.db.player_cards import MapsView, PlayerCard, Records
from bot.db.player_lookup import PlayerRef
from bot.stats.matching import plural

FOOTER = "statsbot"
PERIODS = {"today": "today", "week": "last 7 days", "month": "last 30 days", "all": "all time"}
METRIC_LABELS = {
    "kills": "Kills",
    "kd": "K/D",
    "damage": "Damage",
    "dpm": "DPM",
    "accuracy": "Accuracy %",
    "headshots": "Headshot kills",
    "gibs": "Gibs",
    "revives": "Revives given",
    "objectives": "Objectives",
    "multikills": "Multikills (3+)",
    "xp": "XP",
    "rounds": "Rounds played",
    "winrate": "Win rate % (maps)",
}
NAME_WIDTH = 22  # leaderboard names: "#10 " + 22 + value + rounds fits 40 columns
DARK = discord.Colour(0x2B6CB0)
COUNT_HEADER = {"map": "Maps", "round": "Rnds"}


def day(text: str) -> str:
    return text[:10]


def totals_lines(t: Totals) -> list[tuple[str, str]]:
    """(label, value) pairs of a player's numbers, in reading order."""
    return [
        ("Rounds", f"{t.rounds:,}"),
        ("Kills", f"{t.kills:,}"),
        ("Deaths", f"{t.deaths:,}"),
        ("K/D", f"{t.kd:.2f}"),
        ("DPM", fmt.num(t.dpm, 1)),
        ("Accuracy", fmt.num(t.accuracy, 1, "%")),
        ("Damage", f"{t.damage_given:,}"),
        ("Headshot kills", f"{t.headshot_kills:,}"),
        ("Gibs", f"{t.gibs:,}"),
        ("Multikills 3+", f"{t.multikills:,}"),
        ("Objectives", f"{t.objectives:,} · dyna {t.dynamites:,}"),
        ("Revives", f"{t.revives_given:,} given · {t.times_revived:,} got"),
    ]


def record_text(card: PlayerCard) -> str:
    """ "12W 5L 1D · 67%": stopwatch maps of the summarised sessions."""
    r = card.record
    if r is None:
        return "no decided map yet"
    draws = f" {r.drawn}D" if r.drawn else ""
    return f"{r.won}W {r.lost}L{draws} · {fmt.num(r.win_rate, 0, '%')}"


def _also_known(card: PlayerCard) -> str | None:
    others = [a.name for a in card.aliases if a.name != card.player.name]
    return None if not others else ", ".join(others[:5])


def stats_view(card: PlayerCard, period: str, chart_name: str | None) -> discord.Embed:
    p, t = card.player, card.totals
    lines = [f"{PERIODS.get(period, period)} · seen {day(p.first_seen)} → {day(p.last_seen)}"]
    aka = _also_known(card)
    if aka:
        lines.append(f"also known as: {aka}")
    embed = discord.Embed(title=p.name, description="\n".join(lines), colour=DARK)
    if t is None:
        embed.description = f"{embed.description}\nNo rounds {PERIODS.get(period, period)}."
    else:
        for label, value in totals_lines(t):
            embed.add_field(name=label, value=value, inline=True)
    if t is not None or card.record is not None:
        embed.add_field(name="Maps won / lost", value=record_text(card), inline=True)
    if card.weapons:
        rows = [
            (w.weapon, f"{w.kills:,}", fmt.num(w.accuracy, 1, "%"), f"{w.headshots:,}") for w in card.weapons
        ]
        add_table(embed, "Top weapons", fmt.table(("Weapon", "Kills", "Acc", "HS"), rows, first_width=14))
    favourite = card.maps[:3]
    if favourite:
        text = ", ".join(f"{m.map} ({m.totals.rounds})" for m in favourite)
        best = card.best_map
        if best is not None:
            text += (
                f"\nbest: {best.map} (K/D {best.totals.kd:.2f} over {plural(best.totals.rounds, 'round')})"
            )
        embed.add_field(name="Favourite maps", value=text, inline=False)
    if card.days:
        recent = card.days[-5:]
        kd = " · ".join(f"{d.day[5:]} {d.totals.kd:.2f}" for d in recent)
        embed.add_field(name="Recent form (K/D by day)", value=kd, inline=False)
    if chart_name:
        embed.set_image(url=f"attachment://{chart_name}")
    embed.set_footer(text=FOOTER)
    return fit_embed(embed)


def compare_view(a: PlayerCard, b: PlayerCard, period: str, chart_name: str | None) -> discord.Embed:
    embed = discord.Embed(
        title=f"{a.player.name} vs {b.player.name}", description=PERIODS.get(period, period), colour=DARK
    )
    left = dict(totals_lines(a.totals)) if a.totals else {}
    right = dict(totals_lines(b.totals)) if b.totals else {}
    labels = [
        "Rounds",
        "Kills",
        "Deaths",
        "K/D",
        "DPM",
        "Accuracy",
        "Headshot kills",
        "Gibs",
        "Multikills 3+",
    ]
    rows = [(label, left.get(label, fmt.DASH), right.get(label, fmt.DASH)) for label in labels]
    add_table(
        embed, "Side by side", fmt.table(("", a.player.name[:11], b.player.name[:11]), rows, first_width=14)
    )
    if chart_name:
        embed.set_image(url=f"attachment://{chart_name}")
    embed.set_footer(text=FOOTER)
    return fit_embed(embed)


def leaderboard_view(
    board: Board, metric: str, period: str, min_rounds: int, page: int, pages: int
) -> discord.Embed:
    digits = METRICS[metric][1]
    counted = unit(metric)
    embed = discord.Embed(
        title=f"Leaderboard · {METRIC_LABELS[metric]}",
        description=f"{PERIODS.get(period, period)} · at least {plural(min_rounds, counted)} · "
        f"{plural(board.qualifying, 'player')}",
        colour=discord.Colour.gold(),
    )
    rows = [(f"{r.rank:>2}. {r.name}", fmt.num(r.value, digits), f"{r.rounds:,}") for r in board.rows]
    if rows:
        add_table(
            embed,
            f"Page {page + 1} of {pages}",
            fmt.table(("Player", "Value", COUNT_HEADER[counted]), rows, first_width=NAME_WIDTH + 4),
        )
    else:
        embed.description = f"{embed.description}\nNobody qualifies yet."
    if board.own is not None:
        embed.add_field(
            name="Your rank",
            value=f"#{board.own.rank} of {board.qualifying:,} · {fmt.num(board.own.value, digits)}",
            inline=False,
        )
    embed.set_footer(text=FOOTER)
    return fit_embed(embed)


def whois_view(p: PlayerRef, card: PlayerCard, members: Sequence[str]) -> discord.Embed:
    embed = discord.Embed(title=p.name, colour=DARK)
    embed.description = (
        f"{plural(p.rounds, 'round')} · first seen {day(p.first_seen)} · last seen {day(p.last_seen)}"
    )
    if card.aliases:
        rows = [(a.name, f"{a.rounds:,}", day(a.last_seen)) for a in card.aliases]
        add_table(embed, "Names", fmt.table(("Name", "Rnds", "Last"), rows, first_width=20))
    embed.add_field(name="Linked to", value=", ".join(members) if members else "nobody", inline=False)
    embed.set_footer(text=FOOTER)
    return fit_embed(embed)


def maps_view(view: MapsView) -> discord.Embed:
    if view.player is not None:
        embed = discord.Embed(title=f"{view.player.name} · maps", colour=DARK)
        rows = [
            (m.map, f"{m.totals.rounds:,}", f"{m.totals.kd:.2f}", fmt.num(m.totals.dpm, 0))
            for m in view.player_maps[:20]
        ]
        if rows:
            add_table(embed, "By map", fmt.table(("Map", "Rnds", "K/D", "DPM"), rows, first_width=20))
        else:
            embed.description = "No rounds on that map."
    elif view.map is not None:
        embed = discord.Embed(title=f"{view.map}", colour=DARK)
        if view.overview:
            _, rounds, seconds, held, last = view.overview[0]
            embed.description = (
                f"{plural(rounds, 'round')} · average {fmt.duration(seconds / rounds)} · "
                f"defence held {100 * held // rounds}% · last played {day(last)}"
            )
        if view.board and view.board.rows:
            best = [(f"{r.rank}. {r.name}", fmt.num(r.value, 2), f"{r.rounds:,}") for r in view.board.rows]
            add_table(embed, "Best K/D here", fmt.table(("Player", "K/D", "Rnds"), best, first_width=24))
    else:
        embed = discord.Embed(title="Maps", colour=DARK)
        rows = [
            (name, f"{rounds:,}", fmt.duration(seconds / rounds), f"{100 * held // rounds}%")
            for name, rounds, seconds, held, _ in view.overview[:25]
        ]
        add_table(embed, "Most played", fmt.table(("Map", "Rnds", "Avg", "Held"), rows, first_width=20))
    embed.set_footer(text=FOOTER)
    return fit_embed(embed)


def records_view(rec: Records) -> discord.Embed:
    embed = discord.Embed(title=f"Records · {rec.map or 'all maps'}", colour=discord.Colour.gold())
    for title, found in (("Most kills in a round", rec.kills), ("Best DPM (5+ minutes)", rec.dpm)):
        if found:
            width = max(len(f"{r.value:.0f}") for r in found)
            lines = ["Value  Player · map · date"]
            for r in found:
                lines += [f"{r.value:>{width}.0f}  {r.name}", f"{'':>{width}}  {r.map} · {day(r.played_at)}"]
            add_table(embed, title, lines)
    if rec.fastest:
        rows = [(f.map, fmt.duration(f.seconds), day(f.played_at)) for f in rec.fastest]
        add_table(embed, "Fastest objective", fmt.table(("Map", "Time", "Date"), rows, first_width=20))
    if not (rec.kills or rec.dpm or rec.fastest):
        embed.description = "No rounds yet."
    embed.set_footer(text=FOOTER)
    return fit_embed(embed)


def link_prompt(card: PlayerCard) -> str:
    """What /link asks before linking: is this really you?"""
    p = card.player
    names = ", ".join(a.name for a in card.aliases[:5]) or p.name
    return (
        f"Link your account to **{p.name}**?\nNames: {names}\n"
        f"{plural(p.rounds, 'round')} · last seen {day(p.last_seen)}"
    )
