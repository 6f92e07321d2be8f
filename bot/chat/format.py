"""Small pure formatters shared by the console text and the Discord embeds (times, teams, numbers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

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


def table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]], *, first_width: int = 16) -> list[str]:
    """Fixed-width text rows: first column left-aligned (names), the rest right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    widths[0] = min(max(widths[0], 4), first_width)

    def line(cells: tuple[str, ...]) -> str:
        name = cells[0][: widths[0]].ljust(widths[0])
        return " ".join([name, *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))]).rstrip()

    return [line(headers), *(line(r) for r in rows)]
