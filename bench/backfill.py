"""Backfill speed: `statsbot import` of N files into a fresh database, against a bare floor.

Run: .venv/bin/python bench/backfill.py [--files 5000]

Files are the real samples replicated with shifted times and a per-copy tag (distinct content). Figures:
the import path in-process (collect + backfill: worker processes parse and prepare batches, the database
thread pairs and writes them, a transaction per batch of files; and once with no worker process), the same
through the CLI in a child process (Python start-up included), and the floor: read + split + int() +
executemany of the same rows (round, players, weapons) with plain sqlite3, committed per batch as the
import does (and, for reference, per file).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.samples import replicate, write_files
from bot.db.connection import Database
from bot.ingest.backfill import BATCH_FILES, backfill, collect
from bot.ingest.importer import ImportSettings

PROJECT = Path(__file__).resolve().parent.parent
EXTRAS = 38


async def import_in_process(folder: Path, db_path: Path, workers: int | None = None) -> tuple[float, str]:
    started = time.perf_counter()
    files, _ = collect([folder])
    async with await Database.open(db_path) as db:
        summary = await backfill(db, files, server="bench", settings=ImportSettings(), workers=workers)
    return time.perf_counter() - started, summary.line()


def import_cli(folder: Path, base: Path) -> float:
    config = base / "cli.toml"
    config.write_text(f'[paths]\ndata_dir = "{base / "cli-data"}"\n[backup]\nenabled = false\n')
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "import", str(folder)],
        check=True, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - started


def floor(folder: Path, db_path: Path, per_commit: int) -> float:
    """read + split + int() + executemany of the same rows, a commit every `per_commit` files."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE r (id INTEGER PRIMARY KEY, server, filename, map, rnd, defender, winner, tl, ntl)"
    )
    cols = ", ".join(f"x{i}" for i in range(EXTRAS))
    conn.execute(f"CREATE TABLE p (round_id, guid, name, rounds, team, {cols})")
    conn.execute("CREATE TABLE w (round_id, guid, weapon, hits, shots, kills, deaths, headshots)")
    insert_p = f"INSERT INTO p VALUES (?, ?, ?, ?, ?, {', '.join('?' * EXTRAS)})"
    paths = sorted(folder.iterdir())
    started = time.perf_counter()
    for i, path in enumerate(paths):
        lines = path.read_bytes().decode("utf-8", "replace").split("\n")
        header = lines[0].split("\\")
        if i % per_commit == 0:
            conn.execute("BEGIN IMMEDIATE")
        cur = conn.execute(
            "INSERT INTO r (server, filename, map, rnd, defender, winner, tl, ntl) VALUES (?,?,?,?,?,?,?,?)",
            (
                "bench",
                path.name,
                header[1],
                int(header[3]),
                int(header[4]),
                int(header[5]),
                header[6],
                header[7],
            ),
        )
        rid = cur.lastrowid
        players, weapons = [], []
        for line in lines[1:]:
            if not line:
                continue
            guid, name, rounds, team, rest = line.split("\\")
            block, _, extras = rest.partition("\t")
            nums = [int(v) for v in block.split()]
            mask, values = nums[0], nums[1:]
            slot, k = 0, 0
            while mask:
                if mask & 1:
                    weapons.append((rid, guid, slot, *values[k : k + 5]))
                    k += 5
                mask >>= 1
                slot += 1
            xs = [float(v) for v in extras.split("\t")][:EXTRAS]
            players.append((rid, guid, name, int(rounds), int(team), *xs, *([None] * (EXTRAS - len(xs)))))
        conn.executemany(insert_p, players)
        conn.executemany("INSERT INTO w VALUES (?, ?, ?, ?, ?, ?, ?, ?)", weapons)
        if i % per_commit == per_commit - 1 or i == len(paths) - 1:
            conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--no-cli", action="store_true", help="skip the child-process run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="statsbot-bench-") as tmp:
        base = Path(tmp)
        folder = base / "in"
        write_files(folder, list(replicate(args.files)))
        n = args.files
        seconds, line = asyncio.run(import_in_process(folder, base / "data" / "bench.db"))
        print(f"import (in-process, worker processes prepare): {n / seconds:,.0f} files/s ({seconds:.2f} s)")
        print(f"  {line}")
        alone, _ = asyncio.run(import_in_process(folder, base / "data" / "alone.db", workers=0))
        print(f"import (in-process, no worker process): {n / alone:,.0f} files/s ({alone:.2f} s)")
        again, _ = asyncio.run(import_in_process(folder, base / "data" / "bench.db"))
        print(f"re-run (all already done): {n / again:,.0f} files/s ({again:.2f} s)")
        if not args.no_cli:
            cli = import_cli(folder, base)
            print(f"statsbot import (child process, start-up included): {n / cli:,.0f} files/s ({cli:.2f} s)")
        bare = floor(folder, base / "floor.db", BATCH_FILES)
        print(
            f"floor (read + split + executemany, a commit per {BATCH_FILES} files like the import): "
            f"{n / bare:,.0f} files/s ({bare:.2f} s)"
        )
        per_file = floor(folder, base / "floor1.db", 1)
        print(f"floor with a commit per file: {n / per_file:,.0f} files/s ({per_file:.2f} s)")
        print(f"import / floor time ratio: {seconds / bare:.1f}x")


if __name__ == "__main__":
    main()
