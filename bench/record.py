"""What the never-forget record costs a backfill: N files imported with and without it, side by side.

Run: .venv/bin/python bench/record.py [--files 5000] [--rounds 3] [--big 100000]

Each round imports the same N distinct files (bench/samples.py) into a fresh database twice, once
opened as the daemon and `statsbot import` open it (`continuity=`: the record `statsbot.watermark` is
rewritten 0.5 s after commits, fsync of the WAL + record, outside the database lock) and once
without. Prints files/s for both, how often the record was written and the time those writes took.
Then one record write against a scratch database of `--big` minimal rounds on 3 servers.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.samples import replicate, write_files
from bot.db import continuity as cont
from bot.db.connection import Database
from bot.db.migrations_runner import apply_migrations
from bot.db.tx import SyncTx, Uncounted
from bot.ingest.backfill import backfill, collect
from bot.ingest.importer import ImportSettings


async def one(files: list[Path], base: Path, *, record: bool) -> tuple[float, list[float]]:
    writes: list[float] = []
    real = cont.persist

    def timed(db_path: Path, marks: cont.Marks) -> None:
        started = time.perf_counter()
        real(db_path, marks)
        writes.append(time.perf_counter() - started)

    cont.persist = timed  # a counting wrapper, restored below
    policy = cont.Continuity(backup_dir=base / "backups", local_stats=base / "ls") if record else None
    started = time.perf_counter()
    try:
        async with await Database.open(base / "statsbot.db", continuity=policy) as db:
            await backfill(db, files, server="bench", settings=ImportSettings(post_stats=False))
    finally:
        cont.persist = real
    return time.perf_counter() - started, writes


def big_record(rounds: int, base: Path) -> None:
    """Time read_marks and persist on a database holding `rounds` minimal rounds (3 servers)."""
    path = base / "big.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    apply_migrations(conn)
    cols = (
        "server, filename, sha256, map, round_number, played_at, server_name, config, defender, winner, "
        "time_limit_raw, next_time_limit_raw, player_count, status, raw_content, imported_at"
    )
    rows = (
        (f"s{i % 3}", f"f{i}", f"h{i}", "m", 1, f"2025-01-01 00:00:{i % 60:02d}", "n", "c", 0, 0, "1", "1",
         1, "r1", b"", 0.0)
        for i in range(rounds)
    )  # fmt: skip
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO rounds({cols}) VALUES ({','.join('?' * 16)})", rows)
    conn.execute("COMMIT")
    for _ in range(3):
        started = time.perf_counter()
        marks = cont.read_marks(SyncTx(Uncounted(), conn))
        read = time.perf_counter()
        cont.persist(path, marks)
        done = time.perf_counter()
        print(
            f"{marks.rounds:,} rounds: read_marks {1000 * (read - started):.1f} ms, "
            f"persist (fsync WAL + record, rename) {1000 * (done - read):.1f} ms"
        )
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--big", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_files(root / "in", replicate(args.files))
        files, _ = collect([root / "in"])
        for n in range(args.rounds):
            for record in (False, True):
                base = root / f"run{n}-{record}"
                seconds, writes = asyncio.run(one(files, base, record=record))
                label = "with record   " if record else "without record"
                extra = (
                    f", record written {len(writes)}x, {1000 * sum(writes):.0f} ms in all "
                    f"(max {1000 * max(writes):.0f} ms)"
                    if writes
                    else ""
                )
                rate = len(files) / seconds
                print(f"{label}: {len(files)} files in {seconds:.2f} s = {rate:,.0f} files/s{extra}")
        big_record(args.big, root)


if __name__ == "__main__":
    main()
