"""Small pure formatters shared by the console text and the Discord embeds (times, teams, outcomes)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from bot.stats.anomalies import ROUND2_ONLY

TEAMS = {1: "Axis", 2: "Allies"}
DASH = "–"


def team_name(team: int | None) -> str:
    return TEAMS.get(team or 0, "?")


def duration(seconds: int | float | None) -> str:
    """`8:05`, `1:02:03`, or a dash when unknown."""
    if seconds is None:
        return DASH
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def when(iso: str) -> str:
    """A payload's ISO server-local time as `2025-10-02 23:23` (the input back if it is not ISO)."""
    try:
        return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def num(value: int | float | None, digits: int = 0, suffix: str = "") -> str:
    """A number for a table cell; a dash when the file's generation does not have it."""
    if value is None:
        return DASH
    if digits:
        return f"{value:.{digits}f}{suffix}"
    return f"{round(value)}{suffix}"


def round_title(p: Mapping[str, Any]) -> str:
    return f"{p['map']} · round {p['round_number']}"


def round_outcome(p: Mapping[str, Any]) -> str:
    """One sentence: who did what, how fast, against which limit."""
    defender = int(p.get("defender") or 0)
    attacker = {1: 2, 2: 1}.get(defender)
    limit = f" (limit {duration(p.get('time_limit_s'))})"
    if p.get("result") == "held":
        return f"{team_name(defender)} held the objective{limit}"
    return f"{team_name(attacker)} completed the objective in {duration(p.get('duration_s'))}{limit}"


def round_note(p: Mapping[str, Any]) -> str | None:
    """What the numbers mean for a round 2: round-2-only when paired, cumulative for an orphan."""
    if p.get("status") == "paired":
        return f"Round-2-only numbers (paired with {p.get('paired_with')})."
    if p.get("status") == "orphan":
        return "Round 2 without its round 1: numbers are R1+R2 totals."
    return None


def shown_flags(p: Mapping[str, Any]) -> list[str]:
    """Anomaly flags worth showing; round2_only is already said by the round note."""
    return [f for f in p.get("flags") or [] if f != ROUND2_ONLY]


def match_outcome(p: Mapping[str, Any]) -> str:
    times = f"R1 {duration(p.get('r1_time_s'))} · R2 {duration(p.get('r2_time_s'))}"
    if p.get("outcome") == "draw" or p.get("winner_team") is None:
        return f"Draw ({times})"
    return f"{team_name(p.get('winner_team'))} win the stopwatch ({times})"


def score_line(score: Mapping[str, int]) -> str:
    labels = {"r1_attackers": "R1 attackers", "r2_attackers": "R2 attackers", "draw": "draws"}
    return ", ".join(f"{labels.get(k, k)} {v}" for k, v in score.items()) or DASH


def player_cells(pl: Mapping[str, Any]) -> tuple[str, ...]:
    """K, D, K/D, DMG, DPM, ACC, HS, REV of a round player line."""
    return (
        str(pl["kills"]),
        str(pl["deaths"]),
        num(pl.get("kd"), 2),
        num(pl.get("damage_given")),
        num(pl.get("dpm")),
        num(pl.get("accuracy"), 1, "%"),
        str(pl.get("headshot_hits", DASH)),
        num(pl.get("revives_given")),
    )


PLAYER_COLUMNS = ("K", "D", "K/D", "DMG", "DPM", "ACC", "HS", "REV")


def table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]], *, first_width: int = 16) -> list[str]:
    """Fixed-width text rows: first column left-aligned (names), the rest right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    widths[0] = min(max(widths[0], 4), first_width)

    def line(cells: tuple[str, ...]) -> str:
        name = cells[0][: widths[0]].ljust(widths[0])
        return " ".join([name, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))]).rstrip()

    return [line(headers), *(line(r) for r in rows)]


def round_rows(p: Mapping[str, Any], limit: int | None = None) -> list[str]:
    players = list(p.get("players") or [])[:limit]
    rows = [(str(pl.get("clean_name") or pl.get("name")), *player_cells(pl)) for pl in players]
    return table(("Player", *PLAYER_COLUMNS), rows)


def top_rows(players: list[Mapping[str, Any]]) -> list[str]:
    rows = [
        (
            str(pl.get("clean_name") or pl.get("name")),
            str(pl["kills"]),
            str(pl["deaths"]),
            num(pl.get("kd"), 2),
            num(pl.get("damage_given")),
            num(pl.get("revives_given")),
        )
        for pl in players
    ]
    return table(("Player", "K", "D", "K/D", "DMG", "REV"), rows)
