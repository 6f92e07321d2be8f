"""What the kept player aggregates (migration `players`' triggers) cost a backfill: same files, same
process, into a database with the triggers and into one with them dropped, alternating runs.

Run: .venv/bin/python bench/aggregate_cost.py [--files 3000] [--repeat 3]

Prints the best in-process `backfill` time of each (files/s) and the ratio. The import path is the real
one (collect, worker processes prepare batches, one transaction per batch); only the triggers differ.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.samples import replicate, write_files
from bot.db.connection import Database
from bot.ingest.backfill import backfill, collect
from bot.ingest.importer import ImportSettings


async def run(folder: Path, db_path: Path, *, triggers: bool) -> float:
    async with await Database.open(db_path):
        pass  # migrated
    if not triggers:
        conn = sqlite3.connect(db_path)
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
        for name in names:
            conn.execute(f"DROP TRIGGER {name}")
        conn.commit()
        conn.close()
    files, _ = collect([folder])
    started = time.perf_counter()
    async with await Database.open(db_path) as db:
        await backfill(db, files, server="bench", settings=ImportSettings(post_stats=False))
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        folder = base / "files"
        write_files(folder, list(replicate(args.files)))
        best = {True: float("inf"), False: float("inf")}
        for i in range(args.repeat):
            for triggers in (True, False):
                seconds = asyncio.run(run(folder, base / f"db-{i}-{triggers}.db", triggers=triggers))
                best[triggers] = min(best[triggers], seconds)
        with_t, without = args.files / best[True], args.files / best[False]
        print(
            f"{args.files} files, best of {args.repeat}: with aggregates {with_t:,.0f} files/s, "
            f"without (triggers dropped) {without:,.0f} files/s, ratio {without / with_t:.2f}x"
        )


if __name__ == "__main__":
    main()
