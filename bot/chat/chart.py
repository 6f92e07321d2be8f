"""PNG charts for Discord (matplotlib Agg, dark theme; call them off the event loop).

A Figure is used directly (no pyplot): pyplot keeps global state and is not safe in worker threads.
matplotlib is imported on first use, not when the bot starts (it may build a font cache).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.db.player_boards import DayLine

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MIN_CHART_ROUNDS = 3  # below this a chart says less than a few numbers: callers show a card instead
MAX_TICKS = 10  # labels beyond this would overlap: every n-th one is shown
BACKGROUND = "#2b2d31"  # Discord's dark embed background
PANEL = "#313338"
TEXT = "#dbdee1"
GRID = "#4e5058"
KILLS, DEATHS, DPM = "#5865f2", "#ed4245", "#57f287"
TEAM_COLOURS = {
    1: ("#f0b232", "#ed4245", "#eb459e", "#ff7f50", "#c9a227", "#e67e22"),
    2: ("#5865f2", "#57f287", "#00b0f4", "#9b84ee", "#1abc9c", "#3498db"),
}


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110, facecolor=BACKGROUND)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    _style(ax)
    return figure, ax


def _style(ax: Axes) -> None:
    ax.set_facecolor(PANEL)
    ax.tick_params(colors=TEXT, labelsize=8)
    for spine in ax.spines.values():
        spine.set_color(GRID)
    ax.grid(axis="y", color=GRID, linewidth=0.6, alpha=0.7)
    ax.set_axisbelow(True)
    ax.yaxis.label.set_color(TEXT)
    ax.title.set_color(TEXT)


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", facecolor=BACKGROUND)
    return out.getvalue()


def _ticks(ax: Axes, labels: Sequence[str]) -> None:
    """At most MAX_TICKS labels, slanted so that long map names never run into each other."""
    step = max(1, -(-len(labels) // MAX_TICKS))
    xs = list(range(0, len(labels), step))
    ax.set_xticks(xs, [labels[x] for x in xs], rotation=30, ha="right", fontsize=8)


def _legend(ax: Axes, handles: list[Any], columns: int) -> None:
    legend = ax.legend(
        handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.32), ncol=columns, fontsize=8,
        frameon=False, labelcolor=TEXT,
    )  # fmt: skip
    legend.set_in_layout(True)


def form_chart(series: Sequence[tuple[str, Sequence[DayLine]]], title: str) -> bytes:
    """/stats and /compare: K/D per day played (a line per player) over the first player's kills per
    day (bars, second axis), dates under the axis, one legend."""
    figure, ax = _figure(6.4, 3.6)
    days = sorted({d.day for _, lines in series for d in lines})
    x_of = {d: i for i, d in enumerate(days)}
    handles: list[Any] = []
    if series and series[0][1]:
        kills = ax.twinx()
        kills.set_facecolor(PANEL)  # drawn under the K/D axis, whose own panel is hidden
        kills.tick_params(colors=TEXT, labelsize=8)
        for spine in kills.spines.values():
            spine.set_color(GRID)
        first = series[0][1]
        bars = kills.bar([x_of[d.day] for d in first], [d.totals.kills for d in first], color=GRID, width=0.6,
                         label=f"{series[0][0][:16]} kills")  # fmt: skip
        kills.set_ylabel("kills", color=TEXT)
        ax.set_zorder(kills.get_zorder() + 1)
        ax.patch.set_visible(False)
        handles.append(bars)
    for (name, lines), colour in zip(series, (KILLS, "#f0b232", DPM, DEATHS), strict=False):
        xs, kd = [x_of[d.day] for d in lines], [d.totals.kd for d in lines]
        (line,) = ax.plot(
            xs, kd, color=colour, marker="o", markersize=3, linewidth=1.6, label=f"{name[:16]} K/D"
        )
        handles.append(line)
    _ticks(ax, [d[2:] for d in days])
    ax.set_ylabel("K/D")
    ax.set_title(title, fontsize=10)
    _legend(ax, handles, min(4, len(handles)))
    figure.tight_layout()
    return _png(figure)


def session_chart(chart: Mapping[str, Any], title: str) -> bytes | None:
    """DPM per player per map (a session post's chart); None when there is nothing to draw.

    One map: a bar per player. Several: a line per player, solid for one team, dashed for the other.
    """
    maps = [str(m) for m in chart.get("maps") or []]
    series = [s for s in chart.get("series") or [] if any(v is not None for v in s.get("dpm") or [])]
    if not maps or not series:
        return None
    names = {int(k): str(v) for k, v in (chart.get("teams") or {}).items()}
    if len(maps) == 1:
        return _bars(series, names, f"{title} · {maps[0]}")
    figure, ax = _figure(7.0, 4.2)
    used: dict[int, int] = {}
    handles = []
    for s in series:
        team = int(s.get("team") or 0)
        palette = TEAM_COLOURS.get(team, ("#b5bac1",))
        colour = palette[used.get(team, 0) % len(palette)]
        used[team] = used.get(team, 0) + 1
        points = [(x, v) for x, v in enumerate(s["dpm"]) if v is not None]
        style = "--" if team == 2 else "-"
        xs, ys = [x for x, _ in points], [v for _, v in points]
        (line,) = ax.plot(xs, ys, style, marker="o", color=colour, label=str(s["name"])[:16], linewidth=1.6)
        handles.append(line)
    _ticks(ax, maps)
    ax.set_xlim(-0.5, len(maps) - 0.5)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("DPM (damage per minute)")
    styles = " vs ".join(f"{names[t]} ({'dashed' if t == 2 else 'solid'})" for t in sorted(names))
    ax.set_title(f"{title}\n{styles}" if styles else title, fontsize=10)
    _legend(ax, handles, min(4, len(handles)))
    figure.tight_layout()
    return _png(figure)


def _bars(series: Sequence[Mapping[str, Any]], names: Mapping[int, str], title: str) -> bytes:
    """One map: each player's DPM as a horizontal bar, best on top, in his team's colour."""
    rows = sorted(((str(s["name"])[:18], next(v for v in s["dpm"] if v is not None), int(s.get("team") or 0))
                   for s in series), key=lambda r: r[1])  # fmt: skip
    figure, ax = _figure(7.0, 1.2 + 0.32 * len(rows))
    colours = [TEAM_COLOURS.get(team, ("#b5bac1",))[0] for _, _, team in rows]
    ax.barh(range(len(rows)), [v for _, v, _ in rows], color=colours)
    ax.set_yticks(range(len(rows)), [n for n, _, _ in rows], fontsize=8)
    ax.grid(axis="x", color=GRID, linewidth=0.6, alpha=0.7)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("DPM (damage per minute)", color=TEXT)
    ax.set_title(title, fontsize=10)
    from matplotlib.patches import Patch

    handles = [Patch(color=TEAM_COLOURS[t][0], label=names[t]) for t in sorted(names) if t in TEAM_COLOURS]
    if handles:
        ax.legend(handles=handles, loc="lower right", fontsize=8, frameon=False, labelcolor=TEXT)
    figure.tight_layout()
    return _png(figure)
