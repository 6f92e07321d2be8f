"""The W/L and record-note queries on bench/chat_queries.py's 1,000,000-player-row database.

Run: .venv/bin/python bench/chat_queries.py  (once, builds the cached database), then
     .venv/bin/python bench/record_notes.py [--rows 1000000] [--runs 300]

Prints, per query, p50/p95 of `runs` random inputs timed in-process on a read-only connection:
`round_bests_sync` (what the import asks per round post: records and personal bests, a few index
walks per player), `session_bests_sync` with the stored teams (what a session post and /last_session
ask, against every round played before the session: the newest sessions, as at close, and any),
`win_loss_sync` (the /stats line) and the
win-rate board (all time, 30 and 7 days).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from bench.chat_queries import CACHE, GENERATOR
from bot.db import player_boards
from bot.db.round_notes import round_bests_sync
from bot.db.session_bests import session_bests_sync
from bot.db.session_teams import stored_teams_sync
from bot.db.tx import SyncTx


class _Counter:
    statements = 0


def _time(label: str, calls: Sequence[Callable[[], object]], counter: _Counter) -> None:
    for call in calls[:10]:
        call()
    counter.statements = 0
    ms = []
    for call in calls:
        started = time.perf_counter()
        call()
        ms.append((time.perf_counter() - started) * 1000)
    ms.sort()
    p50, p95 = ms[len(ms) // 2], ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    per_call = counter.statements / len(calls)
    print(f"{label:<28} p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  {per_call:5.1f} statements")


def _session_bests(stx: SyncTx, session_id: int) -> object:
    return session_bests_sync(stx, session_id, stored_teams_sync(stx, session_id))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args(argv)
    path = (CACHE / f"chat-{args.rows}-g{GENERATOR}.db").resolve()
    if not path.exists():
        print(f"{path} missing: run bench/chat_queries.py --rows {args.rows} first")
        return 1
    conn = sqlite3.connect(f"{Path(path).as_uri()}?mode=ro", uri=True, isolation_level=None)
    conn.row_factory = sqlite3.Row
    counter = _Counter()
    stx = SyncTx(counter, conn)
    rng = random.Random(7)
    rounds = [int(r[0]) for r in conn.execute("SELECT id FROM rounds WHERE status IN ('r1', 'paired')")]
    keys = [str(r[0]) for r in conn.execute("SELECT player_key FROM player_results")]
    last = dt.date.fromisoformat(str(conn.execute("SELECT max(day) FROM player_day_results").fetchone()[0]))
    n = conn.execute("SELECT count(*) FROM player_map_results").fetchone()[0]
    print(
        f"{path.name}: {len(rounds):,} counted rounds, {len(keys):,} players with a record, {n:,} map results"
    )
    picks = rng.sample(rounds, args.runs)
    _time("round notes (per round)", [partial(round_bests_sync, stx, r) for r in picks], counter)
    sessions = [int(r[0]) for r in conn.execute("SELECT id FROM sessions WHERE derived = 1 ORDER BY id")]
    # At close (and for /last_session) the session is the newest; `statsbot session show` may ask for any.
    newest = [partial(_session_bests, stx, s) for s in sessions[-args.runs :]]
    _time("session notes, newest", newest, counter)
    _time(
        "session notes, any",
        [partial(_session_bests, stx, s) for s in rng.sample(sessions, args.runs)],
        counter,
    )
    who = [rng.choice(keys) for _ in range(args.runs)]
    _time("/stats W/L (all time)", [partial(player_boards.win_loss_sync, stx, k) for k in who], counter)
    for label, days, minimum in (("all", None, 20), ("month", 29, 10), ("week", 6, 5)):
        since = None if days is None else str(last - dt.timedelta(days=days))
        calls = [
            partial(
                player_boards.board_sync, stx, "winrate", since_day=since, min_rounds=minimum,
                offset=10 * (i % 4), own_key=k,
            )
            for i, k in enumerate(who)
        ]  # fmt: skip
        _time(f"/leaderboard winrate {label}", calls, counter)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
