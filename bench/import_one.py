"""One file per transaction (the poller's import), SQLite and PostgreSQL side by side.

Run: .venv/bin/python bench/import_one.py [--files 300] [--warm 200] [--engine both]

A fresh database per engine gets `--warm` files in one batch (bench/samples.py `varied`), then the next
`--files` are imported one `import_file` call each, as the poller does: parse, then ONE transaction
(registry, round, pairing, session, posts, notes) and its commit. PostgreSQL runs twice, in throw-away
databases: with the default `synchronous_commit` (each commit waits for the WAL flush) and with
`[database] synchronous_commit = false` (docs/OPERATIONS.md §12). Per file: median and min of the
wall time, and the statements run.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import statistics
import tempfile
import time
from pathlib import Path

from bench.pg_scratch import engines, scratch_database
from bench.samples import varied
from bot.db.connection import Database
from bot.ingest.importer import FileToImport, ImportSettings, import_batch, import_file

SERVER = "bench"


async def one_by_one(
    target: Path | str, warm: list[tuple[str, bytes]], files: list[tuple[str, bytes]], *, sync: bool = True
) -> tuple[float, float, float]:
    """(median ms, min ms, statements per file) of import_file over `files` after a batch of `warm`."""
    settings = ImportSettings()
    async with await Database.open(target, synchronous_commit=sync) as db:
        batch = [FileToImport(SERVER, n, len(d), 0, d, hashlib.sha256(d).hexdigest()) for n, d in warm]
        await import_batch(db, batch, settings=settings, now=time.time())
        times = []
        before = db.statements
        for name, data in files:
            started = time.perf_counter()
            await import_file(
                db, server=SERVER, filename=name, size=len(data), mtime=0, data=data,
                sha256=hashlib.sha256(data).hexdigest(), settings=settings, now=time.time(),
            )  # fmt: skip
            times.append((time.perf_counter() - started) * 1000)
        statements = (db.statements - before) / len(files)
    return statistics.median(times), min(times), statements


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--warm", type=int, default=200)
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    made = list(varied(args.warm + args.files))
    warm, files = made[: args.warm], made[args.warm :]
    rows: list[tuple[str, tuple[float, float, float]]] = []
    for engine in engines(args.engine):
        if engine == "sqlite":
            with tempfile.TemporaryDirectory(prefix="statsbot-bench-") as tmp:
                rows.append(("sqlite", asyncio.run(one_by_one(Path(tmp) / "one.db", warm, files))))
            continue
        for sync in (True, False):
            with scratch_database() as url:
                label = f"postgresql, synchronous_commit {'on' if sync else 'off'}"
                rows.append((label, asyncio.run(one_by_one(url, warm, files, sync=sync))))
    print(f"\n{args.files} files, one transaction each, after {args.warm} in one batch")
    print(f"{'engine':<38}{'median ms':>11}{'min ms':>9}{'statements':>12}{'median / sqlite':>17}")
    base = rows[0][1][0] if rows[0][0] == "sqlite" else None
    for label, (median, least, statements) in rows:
        ratio = f"{median / base:.2f}x" if base else "-"
        print(f"{label:<38}{median:>11.2f}{least:>9.2f}{statements:>12.1f}{ratio:>17}")


if __name__ == "__main__":
    main()
