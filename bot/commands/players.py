"""`statsbot player NAME` and `statsbot leaderboard METRIC`: the /stats and /leaderboard queries for scripts.

Both read through the read-only connection with the same functions as the slash commands; `--json`
prints the objects documented in README.md ("Player and leaderboard JSON").
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from bot.commands.common import EXIT_FAILURE, EXIT_OK, err, load, open_db, out, print_json, run_async
from bot.db import player_boards, player_cards
from bot.db.player_boards import METRICS, Board, Totals
from bot.db.player_cards import PlayerCard
from bot.stats.matching import PERIOD_DAYS, period_start_day, plural

PERIOD_CHOICES = (*PERIOD_DAYS, "all")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("player", help="a player's numbers (any name they played under, or GUID)")
    p.add_argument("name", help="a name (case and colour codes ignored) or the GUID")
    p.add_argument("--period", choices=PERIOD_CHOICES, default="all", help="time span (default all)")
    p.add_argument("--json", action="store_true", help="one JSON object (README: Player JSON)")
    p.set_defaults(handler=_player)
    b = subparsers.add_parser("leaderboard", help="top players by a metric")
    b.add_argument("metric", choices=list(METRICS))
    b.add_argument("--period", choices=PERIOD_CHOICES, default="all")
    b.add_argument(
        "--min-rounds",
        type=int,
        default=None,
        help="rounds to qualify (default: 1; ratio boards more; winrate counts maps)",
    )
    b.add_argument("--limit", type=int, default=10, help="lines (default 10)")
    b.add_argument("--json", action="store_true", help="one JSON object (README: Leaderboard JSON)")
    b.set_defaults(handler=_leaderboard)


def _since(period: str) -> str | None:
    return period_start_day(period, dt.datetime.now().date())  # local, like played_at


def totals_json(t: Totals | None) -> dict[str, Any] | None:
    if t is None:
        return None
    values: dict[str, Any] = {name: getattr(t, name) for name in t.__dataclass_fields__}
    values["time_played_min"] = round(t.time_played_min, 2)
    values["kd"] = round(t.kd, 3)
    values["dpm"] = None if t.dpm is None else round(t.dpm, 2)
    values["accuracy"] = None if t.accuracy is None else round(t.accuracy, 2)
    return values


def card_json(card: PlayerCard, period: str, since_day: str | None) -> dict[str, Any]:
    p = card.player
    return {
        "player": {
            "key": p.key,
            "guid": p.guid,
            "name": p.name,
            "name_coloured": p.coloured,
            "rounds": p.rounds,
            "first_seen": p.first_seen,
            "last_seen": p.last_seen,
        },
        "period": period,
        "since_day": since_day,
        "totals": totals_json(card.totals),
        "aliases": [
            {"name": a.name, "rounds": a.rounds, "first_seen": a.first_seen, "last_seen": a.last_seen}
            for a in card.aliases
        ],
        "top_weapons": [
            {
                "weapon": w.weapon,
                "kills": w.kills,
                "deaths": w.deaths,
                "hits": w.hits,
                "shots": w.shots,
                "headshots": w.headshots,
                "accuracy": None if w.accuracy is None else round(w.accuracy, 2),
            }
            for w in card.weapons
        ],
        "maps": [
            {
                "map": m.map,
                "rounds": m.totals.rounds,
                "kills": m.totals.kills,
                "deaths": m.totals.deaths,
                "kd": round(m.totals.kd, 3),
                "dpm": None if m.totals.dpm is None else round(m.totals.dpm, 2),
            }
            for m in card.maps
        ],
        "record": None
        if card.record is None
        else {
            "won": card.record.won,
            "lost": card.record.lost,
            "drawn": card.record.drawn,
            "maps": card.record.maps,
            "win_rate": None if card.record.win_rate is None else round(card.record.win_rate, 2),
        },
        "linked_members": card.linked,
    }


def board_json(board: Board, metric: str, period: str, since_day: str | None, minimum: int) -> dict[str, Any]:
    return {
        "metric": metric,
        "period": period,
        "since_day": since_day,
        "min_rounds": minimum,
        "qualifying": board.qualifying,
        "rows": [
            {"rank": r.rank, "key": r.key, "name": r.name, "rounds": r.rounds, "value": r.value}
            for r in board.rows
        ],
    }


def _player(args: argparse.Namespace) -> int:
    settings = load(args)

    async def body() -> int:
        since_day = _since(args.period)
        db = await open_db(settings, write=False)
        try:
            card = await player_cards.find_card(db.reads, args.name, since_day=since_day)
        finally:
            await db.close()
        if card is None:
            err(f"statsbot: no player called {args.name!r}")
            return EXIT_FAILURE
        if args.json:
            print_json(card_json(card, args.period, since_day))
            return EXIT_OK
        p = card.player
        out(f"{p.name} ({p.key}) · {p.rounds:,} rounds · seen {p.first_seen[:10]} → {p.last_seen[:10]}")
        others = [a.name for a in card.aliases if a.name != p.name]
        if others:
            out(f"also known as: {', '.join(others)}")
        t = totals_json(card.totals)
        if t is None:
            out(f"no rounds in the period ({args.period})")
        else:
            out(" · ".join(f"{k} {v}" for k, v in t.items() if v is not None))
        r = card.record
        wl = "no decided map yet" if r is None else f"{r.won} won · {r.lost} lost · {r.drawn} drawn"
        out(f"maps: {wl}")
        return EXIT_OK

    return run_async(body)


def _leaderboard(args: argparse.Namespace) -> int:
    settings = load(args)

    async def body() -> int:
        since_day = _since(args.period)
        minimum = args.min_rounds or player_boards.default_minimum(args.metric, args.period)
        db = await open_db(settings, write=False)
        try:
            board = await player_boards.board(
                db.reads, args.metric, since_day=since_day, min_rounds=minimum, limit=args.limit
            )
        finally:
            await db.close()
        if args.json:
            print_json(board_json(board, args.metric, args.period, since_day, minimum))
            return EXIT_OK
        digits = METRICS[args.metric][1]
        out(
            f"{args.metric} · {args.period} · at least {plural(minimum, player_boards.unit(args.metric))} · "
            f"{board.qualifying} qualify"
        )
        for r in board.rows:
            value = "-" if r.value is None else f"{r.value:.{digits}f}"
            out(f"{r.rank:>4}. {r.name:<24} {value:>10} {r.rounds:>6}")
        return EXIT_OK

    return run_async(body)
