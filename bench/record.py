"""What the never-forget record costs a backfill: N files imported with and without it, side by side.

Run: .venv/bin/python bench/record.py [--files 5000] [--rounds 3]

Each round imports the same N distinct files (bench/samples.py) into a fresh database twice, once
opened as the daemon and `statsbot import` open it (`continuity=`: the record `statsbot.watermark` is
rewritten 0.5 s after commits, fsync of WAL + database + record, outside the database lock) and once
without. Prints files/s for both, how often the record was written and the time those writes took.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bench.samples import replicate, write_files
from bot.db import continuity as cont
from bot.db.connection import Database
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
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


if __name__ == "__main__":
    main()
