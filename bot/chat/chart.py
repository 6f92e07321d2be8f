"""A small PNG chart of a player's recent rounds (matplotlib Agg; call it off the event loop)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from bot.db.chat_queries import PlayerRound


def rounds_chart(rounds: Sequence[PlayerRound], title: str) -> bytes:
    """Kills and deaths per round (bars) with DPM (line) on a second axis; a ~30-60 KB PNG.

    Uses a Figure directly (no pyplot): pyplot keeps global state and is not safe in worker threads.
    matplotlib is imported here, on first use, not when the bot starts (it may build a font cache).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 3.2), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    xs = list(range(len(rounds)))
    ax.bar([x - 0.2 for x in xs], [r.kills for r in rounds], width=0.4, label="kills", color="#4c9be8")
    ax.bar([x + 0.2 for x in xs], [r.deaths for r in rounds], width=0.4, label="deaths", color="#e8704c")
    ax.set_xticks(xs, [f"{r.map[:10]}\nR{r.round_number}" for r in rounds], fontsize=6)
    ax.set_ylabel("kills / deaths")
    ax.set_title(title, fontsize=10)
    dpm = [(x, r.dpm) for x, r in zip(xs, rounds, strict=True) if r.dpm is not None]
    if dpm:
        ax2 = ax.twinx()
        ax2.plot([x for x, _ in dpm], [v for _, v in dpm], color="#6ac46a", marker="o", label="DPM")
        ax2.set_ylabel("DPM")
    ax.legend(loc="upper left", fontsize=7)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
