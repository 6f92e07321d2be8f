"""Backfill speed: `statsbot import` of N files into fresh databases, SQLite and PostgreSQL, against floors.

Run: .venv/bin/python bench/backfill.py [--files 5000] [--engine sqlite|postgresql|both] [--data varied]

Files are the real samples replicated with shifted times and a per-copy tag (distinct content); with
`--data varied` (the default) each copy is also played by other people under other names on other maps
(bench/samples.py `varied`). The same files go to every engine. Figures per engine: the import path
in-process (collect + backfill: worker processes parse and prepare batches, the database thread pairs
and writes them, a transaction per batch of files; and once with no worker process), a re-run (all
done), the same through the CLI in a child process (Python start-up included), and floors of read +
split + int() + executemany, a commit per batch of files as the import does:

* bare floor (bench/bare_floor.py): round, player and weapon rows into tables without keys or indexes
  (plain sqlite3; plain psycopg), and on SQLite, for reference, the same with a commit per file;
* same-rows floor (SQLite only): every row the import wrote (same tables, same row counts per file,
  checked) into a fresh database made by the real migrations, with the import's pragmas. Which rows
  belong to which file (pairs, sessions, posts, events) is read from the import's database.

PostgreSQL runs in throw-away databases created and dropped by the bench (bench/pg_scratch.py: the
admin URL from STATSBOT_TEST_PG_URL, else postgresql://postgres@127.0.0.1:5432/postgres). The table at
the end puts both engines side by side with PostgreSQL's time over SQLite's, from the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench.bare_floor import postgresql_floor, sqlite_floor
from bench.pg_scratch import backend_cpu_seconds, engines, scratch_database, server_settings
from bench.same_rows_floor import TABLES, import_plan, row_counts, same_rows_floor
from bench.samples import replicate, varied, write_files
from bot.db.connection import Database
from bot.ingest.backfill import BATCH_FILES, backfill, collect
from bot.ingest.importer import ImportSettings

PROJECT = Path(__file__).resolve().parent.parent
SERVER = "bench"
FIGURES = (
    "import (in-process, worker processes prepare)",
    "import (in-process, no worker process)",
    "re-run (all already done)",
    "statsbot import (child process, start-up included)",
    f"bare floor (no keys or indexes; a commit per {BATCH_FILES} files)",
    "bare floor, a commit per file",
    f"same-rows floor (real migrations; a commit per {BATCH_FILES} files)",
)


# CPU seconds of the import without worker processes: (this process, the database server's processes).
CPU_SPLIT: dict[str, tuple[float, float]] = {}


async def import_in_process(
    folder: Path, target: Path | str, workers: int | None = None
) -> tuple[float, str]:
    started = time.perf_counter()
    files, _ = collect([folder])
    async with await Database.open(target) as db:
        cpu = time.process_time()
        summary = await backfill(db, files, server=SERVER, settings=ImportSettings(), workers=workers)
        if workers == 0:  # all of the import's CPU is then this process's plus the server's
            on_pg = isinstance(target, str)
            server = backend_cpu_seconds(str(target)) if on_pg else 0.0
            CPU_SPLIT["postgresql" if on_pg else "sqlite"] = (time.process_time() - cpu, server)
    return time.perf_counter() - started, summary.line()


def import_cli(folder: Path, base: Path, url: str | None) -> float:
    base.mkdir(parents=True, exist_ok=True)
    config = base / "cli.toml"
    database = f'[database]\nurl = "{url}"\n' if url else ""
    config.write_text(f'[paths]\ndata_dir = "{base / "cli-data"}"\n[backup]\nenabled = false\n{database}')
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "import", str(folder)],
        check=True, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - started


def run_sqlite(folder: Path, base: Path, cli: bool) -> dict[str, float]:
    """The SQLite figures (seconds), checked against the same-rows floor."""
    out: dict[str, float] = {}
    seconds, line = asyncio.run(import_in_process(folder, base / "data" / "bench.db"))
    print(f"sqlite: {line}")
    out[FIGURES[0]] = seconds
    out[FIGURES[1]], _ = asyncio.run(import_in_process(folder, base / "data" / "alone.db", workers=0))
    out[FIGURES[2]], _ = asyncio.run(import_in_process(folder, base / "data" / "bench.db"))
    if cli:
        out[FIGURES[3]] = import_cli(folder, base / "sqlite-cli", None)
    out[FIGURES[4]] = sqlite_floor(folder, base / "floor.db", BATCH_FILES)
    out[FIGURES[5]] = sqlite_floor(folder, base / "floor1.db", 1)
    expected = row_counts(base / "data" / "bench.db")
    same = same_rows_floor(folder, base / "same.db", import_plan(base / "data" / "bench.db"), BATCH_FILES)
    got = row_counts(base / "same.db")
    if got != expected:
        diff = {k: (got[k], expected[k]) for k in expected if got[k] != expected[k] and k in TABLES}
        raise SystemExit(f"same-rows floor wrote other rows than the import: {diff or 'per-file counts'}")
    out[FIGURES[6]] = same
    print("  rows: " + ", ".join(f"{t} {expected[t]:,}" for t in TABLES))
    return out


def run_postgresql(folder: Path, base: Path, cli: bool) -> dict[str, float]:
    """The PostgreSQL figures (seconds): every import into its own throw-away database."""
    out: dict[str, float] = {}
    with ExitStack() as stack:
        url = stack.enter_context(scratch_database())
        print(f"postgresql: {server_settings(url)}")
        seconds, line = asyncio.run(import_in_process(folder, url))
        print(f"postgresql: {line}")
        out[FIGURES[0]] = seconds
        out[FIGURES[1]], _ = asyncio.run(
            import_in_process(folder, stack.enter_context(scratch_database()), 0)
        )
        out[FIGURES[2]], _ = asyncio.run(import_in_process(folder, url))
        if cli:
            out[FIGURES[3]] = import_cli(folder, base / "pg-cli", stack.enter_context(scratch_database()))
        out[FIGURES[4]] = postgresql_floor(folder, stack.enter_context(scratch_database()), BATCH_FILES)
        out[FIGURES[5]] = postgresql_floor(folder, stack.enter_context(scratch_database()), 1)
    return out


def report(n: int, results: dict[str, dict[str, float]]) -> None:
    """One table: files/s (seconds) per engine, and PostgreSQL's time over SQLite's (same run)."""
    names = list(results)
    print(f"\n{n:,} files; files/s (seconds)")
    print(
        f"{'figure':<56}"
        + "".join(f"{e:>22}" for e in names)
        + ("   pg/sqlite time" if len(names) == 2 else "")
    )
    for figure in FIGURES:
        cells = [results[e].get(figure) for e in names]
        if all(c is None for c in cells):
            continue
        row = f"{figure:<56}" + "".join(
            f"{'-':>22}" if c is None else f"{f'{n / c:,.0f} ({c:.2f} s)':>22}" for c in cells
        )
        if len(cells) == 2 and None not in cells:
            row += f"{cells[1] / cells[0]:>17.2f}x"  # type: ignore[operator]
        print(row)
    for e in names:
        r = results[e]
        ratios = [f"import / bare floor {r[FIGURES[0]] / r[FIGURES[4]]:.1f}x"]
        if FIGURES[6] in r:
            ratios.append(f"import / same-rows floor {r[FIGURES[0]] / r[FIGURES[6]]:.1f}x (the 3x target's)")
            ratios.append(f"no worker process / same-rows floor {r[FIGURES[1]] / r[FIGURES[6]]:.1f}x")
        print(f"{e}: " + ", ".join(ratios))
    # CPU time does not depend on what else runs on the machine as much as elapsed time does: with
    # other work on the cores, the elapsed time tends to the sum of both processes' CPU.
    for e, (client, server) in CPU_SPLIT.items():
        print(
            f"{e}: CPU per file, no worker process: this process {client / n * 1000:.2f} ms "
            f"+ database server {server / n * 1000:.2f} ms = {(client + server) / n * 1000:.2f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--data", choices=["varied", "replica"], default="varied")
    parser.add_argument("--no-cli", action="store_true", help="skip the child-process runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="statsbot-bench-") as tmp:
        base = Path(tmp)
        folder = base / "in"
        made = varied(args.files) if args.data == "varied" else replicate(args.files)
        write_files(folder, list(made))
        results: dict[str, dict[str, float]] = {}
        for engine in engines(args.engine):
            run = run_sqlite if engine == "sqlite" else run_postgresql
            results[engine] = run(folder, base, not args.no_cli)
        report(args.files, results)


if __name__ == "__main__":
    main()
