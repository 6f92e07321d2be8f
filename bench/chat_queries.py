"""Chat command queries on a realistic 1,000,000-player-row database: SQLite and PostgreSQL side by side.

Run: .venv/bin/python bench/chat_queries.py [--rows 1000000] [--runs 300] [--fresh] [--engine both]

The database is generated once (bench/chat_data.py: executemany straight into the schema before the
`players` migration, then the remaining migrations run and backfill the kept aggregates, timed) and
cached under bench/.cache/ (git-ignored). Thousands of players with coloured names and 1-4 aliases over
ten years, 60 maps, R1/R2 pairs, 3 weapons per player row. For PostgreSQL the same rows are copied
from that file into a throw-away database (COPY at the same schema version, then the PostgreSQL
migrations build the aggregates, timed), dropped at the end (bench/pg_scratch.py). Building that copy
takes minutes: `--pg-keep` keeps it (its URL is printed) and `--pg-reuse URL` measures it again, after
running only the migrations added since (the kept tables' row counts are compared with SQLite's as
always); drop it with `DROP DATABASE` when done.

Per command, `runs` random inputs (the same on both engines); each is timed as the command runs it
(one call on the read connection's thread: SQL + building the result objects; the autocomplete on the
calling thread, as `player_lookup.search` runs it: on PostgreSQL that is the read thread too, a query
is a network round trip) and as the bare floor:
the same SQL statements with the same parameters, recorded from the command's own run, replayed on a
plain connection (sqlite3, or psycopg with the statement as bot/db/dialect.py rewrites it:
`execute().fetchall()`, no thread hop, no objects). Goal: p95 <= 50 ms per command, <= 10 ms for the
name autocomplete.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

import psycopg

from bench.chat_data import KEPT, copy_to_postgresql, generate, kept_counts_differ, migrate_pending
from bench.pg_scratch import engines, scratch_database, server_settings
from bot.db import chat_queries, pg_engine, player_boards, player_cards, player_lookup
from bot.db.connection import Database
from bot.db.dialect import to_postgresql
from bot.db.tx import SyncTx
from bot.stats.matching import period_start_day

CACHE = Path(__file__).resolve().parent / ".cache"
GENERATOR = 9  # bump when the generated data or the schema it is measured on changes
METRICS = list(player_boards.METRICS)
PERIODS = ["all", "all", "month", "week", "today"]
Result = tuple[str, float, float, float, float]  # command, p50, p95, floor p50, floor p95 (ms)


# --- measurement -----------------------------------------------------------------------------------


class _Counter:
    statements = 0


class Recording(SyncTx):
    """A SyncTx that keeps every statement it ran (for the bare replay)."""

    __slots__ = ("log",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(_Counter(), conn)
        self.log: list[tuple[str, Any]] = []

    def fetchall(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        self.log.append((sql, params))
        return super().fetchall(sql, params)


class PgRecording(pg_engine.PgSyncTx):
    """The same on PostgreSQL (statements kept as written, in SQLite's dialect)."""

    __slots__ = ("log",)

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        super().__init__(_Counter(), conn)
        self.log: list[tuple[str, Any]] = []

    def fetchall(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        self.log.append((sql, params))
        return super().fetchall(sql, params)


Command = Callable[[SyncTx], object]


def inputs(conn: sqlite3.Connection, rng: random.Random, runs: int) -> dict[str, list[Command]]:
    aliases = [str(r[0]) for r in conn.execute("SELECT clean_name FROM player_aliases")]
    keys = [str(r[0]) for r in conn.execute("SELECT player_key FROM players ORDER BY rounds DESC")]
    maps = [str(r[0]) for r in conn.execute("SELECT map FROM map_totals")]
    rare = [str(r[0]) for r in conn.execute("SELECT map FROM map_totals ORDER BY rounds, map LIMIT 3")]
    today = time.strptime(conn.execute("SELECT max(day) FROM player_days").fetchone()[0], "%Y-%m-%d")
    import datetime as dt

    day = dt.date(today.tm_year, today.tm_mon, today.tm_mday)

    def typed() -> str:
        a = rng.choice(aliases)
        kind = rng.random()
        if kind < 0.6:
            return a[: rng.randint(1, 5)]
        if kind < 0.8:
            return f"^{rng.randint(1, 7)}{a[: rng.randint(2, 6)]}"
        if kind < 0.9:
            return a[1:4]  # inside the name
        return "".join(a[i] for i in range(0, min(len(a), 8), 2))  # letters in order ("fuzzy")

    def find(stx: SyncTx, text: str) -> player_lookup.PlayerRef:
        found = player_lookup.find_player_sync(stx, text)
        assert found is not None, text
        return found

    names = (
        "autocomplete",
        "/stats",
        "/leaderboard",
        "/compare",
        "/maps",
        "/records",
        "/records map",
        "/whois",
        "/last_round",
    )
    out: dict[str, list[Command]] = {k: [] for k in names}

    def compare(stx: SyncTx, a: str, b: str, since_day: str | None) -> object:
        return player_cards.compare_sync(stx, find(stx, a), find(stx, b), since_day=since_day)

    def maps_of(stx: SyncTx, choice: int, map_name: str, key: str) -> object:
        who = player_lookup.get_player_sync(stx, key) if choice in (0, 1) else None
        return player_cards.maps_view_sync(stx, who, map_name if choice in (1, 2) else None)

    def whois(stx: SyncTx, a: str) -> object:
        p = find(stx, a)
        return player_lookup.aliases_sync(stx, p.key, limit=10), player_lookup.linked_members_sync(
            stx, p.guid
        )

    for _ in range(runs):
        a, b, period = rng.choice(aliases), rng.choice(aliases), rng.choice(PERIODS)
        s = period_start_day(period, day)
        metric, own, page = rng.choice(METRICS), rng.choice(keys), rng.randint(0, 3)
        mp, who, choice = rng.choice(maps), rng.choice(keys[:2000]), rng.randint(0, 3)
        minimum = player_boards.default_minimum(metric, period)
        out["autocomplete"].append(partial(player_lookup.search_sync, text=typed()))
        out["/stats"].append(partial(player_cards.find_card_sync, text=a, since_day=s))
        out["/leaderboard"].append(
            partial(player_boards.board_sync, metric=metric, since_day=s, min_rounds=minimum,
                    offset=10 * page, own_key=own)
        )  # fmt: skip
        out["/compare"].append(partial(compare, a=a, b=b, since_day=s))
        out["/maps"].append(partial(maps_of, choice=choice, map_name=mp, key=who))
        out["/records"].append(partial(player_cards.records_sync, map_name=mp if choice % 2 else None))
        # One map, a rare one (played by one pair) in 1 of 4: the walk down every kills row it replaced.
        one = rng.choice(rare) if rng.random() < 0.25 else rng.choice(maps)
        out["/records map"].append(partial(player_cards.records_sync, map_name=one))
        out["/whois"].append(partial(whois, a=a))
        out["/last_round"].append(
            partial(chat_queries.last_round_sync, server="main" if choice % 2 else None)
        )
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(
    target: Path | str,
    work: dict[str, list[Command]],
    recorder: Callable[[], Recording | PgRecording],
    replay: Callable[[str, Any], object],
) -> list[Result]:
    """Time every command as the bot runs it (read connection) and its recorded statements replayed."""
    results = []
    async with await Database.open(target, lock=False) as db:
        for name, commands in work.items():
            command_ms, floor_ms = [], []
            # As the bot runs it: the autocomplete on the calling thread (player_lookup.search), the
            # commands with one hop to the read thread.
            run = db.reads.call_here if name == "autocomplete" else db.reads.call
            for fn in commands[:10]:  # warm the caches and both connections
                await run(fn)
                fn(recorder())
            for fn in commands:
                started = time.perf_counter()
                await run(fn)
                command_ms.append((time.perf_counter() - started) * 1000)
                rec = recorder()
                fn(rec)
                started = time.perf_counter()
                for sql, params in rec.log:
                    replay(sql, params)
                floor_ms.append((time.perf_counter() - started) * 1000)
            results.append((name, statistics.median(command_ms), pct(command_ms, 0.95),
                            statistics.median(floor_ms), pct(floor_ms, 0.95)))  # fmt: skip
    return results


def measure_sqlite(path: Path, work: dict[str, list[Command]]) -> list[Result]:
    bare = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None)
    bare.row_factory = sqlite3.Row
    try:
        return asyncio.run(
            measure(path, work, lambda: Recording(bare), lambda sql, p: bare.execute(sql, p).fetchall())
        )
    finally:
        bare.close()


def measure_postgresql(
    path: Path, work: dict[str, list[Command]], *, reuse: str | None = None, keep: bool = False
) -> list[Result]:
    with ExitStack() as stack:
        url = reuse or stack.enter_context(scratch_database(keep=keep))
        print(f"postgresql: {server_settings(url)}")
        if reuse:  # a copy an earlier `--pg-keep` run made: only the migrations added since then run
            print(f"postgresql: reusing {url}: pending migrations + ANALYZE {migrate_pending(url):.1f} s")
        else:
            info = copy_to_postgresql(path, url)
            print(f"postgresql: COPY of the generated rows {info['copy_s']:.1f} s, migrations + aggregate "
                  f"backfill + ANALYZE {info['migrate_s']:.1f} s")  # fmt: skip
            if keep:
                print(f"postgresql: kept for --pg-reuse: {url}")
        differ = kept_counts_differ(path, url)
        if differ:
            raise SystemExit(f"the engines built different aggregates (sqlite, postgresql): {differ}")
        print(f"postgresql: same row counts as SQLite in {', '.join(KEPT)}")
        recording = stack.enter_context(pg_engine.connect(url, read_only=True))
        bare = stack.enter_context(psycopg.connect(url, autocommit=True))

        def replay(sql: str, params: Any) -> object:
            return bare.execute(to_postgresql(sql).encode(), params).fetchall()

        return asyncio.run(measure(url, work, lambda: PgRecording(recording), replay))


def cached_database(rows: int, fresh: bool) -> Path:
    CACHE.mkdir(exist_ok=True)
    path = (CACHE / f"chat-{rows}-g{GENERATOR}.db").resolve()
    if fresh or not path.exists():
        for stale in CACHE.glob(f"{path.name}*"):
            stale.unlink()
        part = path.with_name(path.name + ".part")
        for stale in CACHE.glob(f"{part.name}*"):
            stale.unlink()
        info = generate(part, rows)
        part.rename(path)
        print(
            f"generated {info['rows']:,} player rows, {info['weapon_rows']:,} weapon rows, "
            f"{info['rounds']:,} rounds, {info['players']:,} players: made {info['make_s']:.1f} s, "
            "executemany "
            f"{info['insert_s']:.1f} s, migrations + aggregate backfill + ANALYZE {info['migrate_s']:.1f} s"
        )
    return path


def report(results: dict[str, list[Result]]) -> bool:
    """One table, engines side by side (p50/p95 of the command, p95 of its floor), and the p95 ratio."""
    names = list(results)
    head = f"{'command':<14}"
    for e in names:
        tag = "sqlite" if e == "sqlite" else "pg"
        head += f"{tag + ' p50':>11}{tag + ' p95':>11}{'floor p95':>11}"
    print(head + ("   pg/sqlite p95" if len(names) == 2 else "") + f"{'goal':>7}")
    ok = dict.fromkeys(names, True)
    for i, (command, *_) in enumerate(results[names[0]]):
        goal = 10.0 if command == "autocomplete" else 50.0
        line = f"{command:<14}"
        for e in names:
            _, p50, p95, _f50, f95 = results[e][i]
            ok[e] &= p95 <= goal
            line += f"{p50:>11.2f}{p95:>11.2f}{f95:>11.2f}"
        if len(names) == 2:
            line += f"{results[names[1]][i][2] / results[names[0]][i][2]:>16.1f}x"
        print(line + f"{goal:>7.0f}")
    for e in names:
        print(f"{e}: " + ("every command within its goal" if ok[e] else "GOAL MISSED"))
    return all(ok.values())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--fresh", action="store_true", help="generate the database again")
    ap.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--pg-keep", action="store_true", help="keep the PostgreSQL copy (prints its URL)")
    ap.add_argument("--pg-reuse", metavar="URL", help="measure a copy kept by --pg-keep (drop it yourself)")
    args = ap.parse_args(argv)
    path = cached_database(args.rows, args.fresh)
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    counts = [
        conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("player_stats", "players", "player_aliases", "rounds")
    ]
    print(f"database {path.name}: {counts[0]:,} player rows, {counts[1]:,} players, {counts[2]:,} aliases, "
          f"{counts[3]:,} rounds; {args.runs} random inputs per command")  # fmt: skip
    work = inputs(conn, random.Random(7), args.runs)  # the same inputs for every engine
    conn.close()
    results = {}
    for engine in engines(args.engine):
        results[engine] = (
            measure_sqlite(path, work)
            if engine == "sqlite"
            else measure_postgresql(path, work, reuse=args.pg_reuse, keep=args.pg_keep)
        )
    return 0 if report(results) else 1


if __name__ == "__main__":
    sys.exit(main())
