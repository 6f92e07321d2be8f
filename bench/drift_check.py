"""Drift-watch check cost with N files everywhere: time per check, longest event-loop stall, memory kept.

Run: .venv/bin/python bench/drift_check.py [--files 100000]

The real DriftWatch.check_server (snapshot from SQLite, local_stats scan, the pure compare in a worker
thread, alerts + counts in one transaction) against an in-memory source whose folder never changes:
the first check lists, the next ones only stat the folder (the cheap listing). N registry rows
`imported`, N rounds and N local copies agree, so the check finds nothing: a healthy server's cost.
A ticker measures how late the event loop runs a 5 ms sleep meanwhile (what a poll would wait).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import tracemalloc
from pathlib import Path

from bench.poll_cycle import MTIME, SERVER, MemorySource, current_rss_mb, names, rss_mb, seed
from bot.config import Settings
from bot.db.connection import Database
from bot.ingest.source import RemoteEntry
from bot.ops.drift_watch import DriftWatch, _Listing


async def seed_rounds(db: Database, all_names: list[str]) -> None:
    """One minimal round per file, and the registry rows pointing at them (bench fixture, raw SQL)."""
    async with db.transaction() as tx:
        await tx.executemany(
            "INSERT INTO rounds(server, filename, sha256, map, round_number, played_at, server_name, config, "
            "defender, winner, time_limit_raw, next_time_limit_raw, player_count, status, raw_content, "
            "imported_at) VALUES (?, ?, ?, 'supply', 1, '2021-01-01 00:00:00', 's', 'c', 1, 1, '10:00', "
            "'10:00', 0, 'r1', x'', 0)",
            [(SERVER, n, f"{i:064x}") for i, n in enumerate(all_names)],
        )
        await tx.execute(
            "UPDATE processed_files SET round_id = (SELECT id FROM rounds r WHERE r.server = "
            "processed_files.server AND r.filename = processed_files.filename), sha256 = (SELECT sha256 "
            "FROM rounds r WHERE r.server = processed_files.server AND r.filename = processed_files.filename)"
        )


async def timed_check(
    watch: DriftWatch, db: Database, settings: Settings, source: MemorySource
) -> tuple[float, float]:
    """(seconds for one check, longest lateness of a 5 ms sleep while it ran)."""
    worst = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal worst
        loop = asyncio.get_running_loop()
        while not done.is_set():
            before = loop.time()
            await asyncio.sleep(0.005)
            worst = max(worst, loop.time() - before - 0.005)

    tick = asyncio.create_task(ticker())
    started = time.perf_counter()
    report = await watch.check_server(db, settings, settings.servers[0], source)
    seconds = time.perf_counter() - started
    done.set()
    await tick
    if report.differences:
        raise RuntimeError(
            f"a healthy server must show no difference: {[d.kind for d in report.differences]}"
        )
    return seconds, worst


async def run(count: int) -> None:
    all_names = names(count)
    with tempfile.TemporaryDirectory(prefix="statsbot-bench-") as tmp:
        base = Path(tmp)
        local = base / "local_stats" / SERVER
        local.mkdir(parents=True)
        for n in all_names:
            (local / n).write_bytes(b"x" * 100)
        settings = Settings.from_values(
            paths={"data_dir": base / "data", "local_stats": base / "local_stats"},
            servers=[{"name": SERVER, "host": "127.0.0.1", "username": "bench", "private_key": base / "k",
                      "known_hosts": base / "kh", "remote_dir": "/gamestats"}],
        )  # fmt: skip
        async with await Database.open(base / "bench.db") as db:
            t0 = time.perf_counter()
            await seed(db, all_names)
            await seed_rounds(db, all_names)
            took = time.perf_counter() - t0
            print(f"seeded {count} imported registry rows, rounds and local copies in {took:.1f} s")
            source = MemorySource([RemoteEntry(n, 100, MTIME, True) for n in all_names])
            watch = DriftWatch()
            seconds, stall = await timed_check(watch, db, settings, source)
            print(
                f"first check (full listing): {seconds:.2f} s, "
                f"longest event-loop stall {1e3 * stall:.0f} ms, "
                f"listings {source.lists}"
            )
            runs = [await timed_check(watch, db, settings, source) for _ in range(5)]
            runs.sort()
            print(
                f"next checks (folder unchanged: stat only): median {runs[2][0]:.2f} s, longest event-loop "
                f"stall {1e3 * max(r[1] for r in runs):.0f} ms, listings {source.lists}"
            )
            tracemalloc.start()
            watch.listings[SERVER] = _Listing.pack(MTIME, source.entries)  # what the first check kept
            print(f"listing kept between checks: {tracemalloc.get_traced_memory()[0] / 1e6:.1f} MB (packed)")
            tracemalloc.stop()
        print(f"RSS now {current_rss_mb():.0f} MB, peak {rss_mb():.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=100_000)
    asyncio.run(run(parser.parse_args().files))


if __name__ == "__main__":
    main()
