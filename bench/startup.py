"""Launch → first completed poll of a real `statsbot run` child process with 100,000 imported files.

Run: .venv/bin/python bench/startup.py [--files 100000] [--runs 3] [--workdir DIR]

Builds once (kept in --workdir between runs; 3-15 min here): `--files` varied stats files
(bench/samples.py) in a served folder, imported into a database by the real backfill (server
`bench`, posts marked sent and past sessions closed, as years of running leave them). Then, per run,
a fresh copy of that database, the embedded SSH server in a process of its own (bench/sftp_serve.py,
commands allowed) and `python -m bot run` as a child process; the figure is the wall time from just
before the launch to the moment its first successful poll is recorded (`server_status.last_success_at`,
read from the database every 20 ms). Two starts are timed:

* clean: the database as a clean shutdown leaves it (its clean-shutdown marker beside it): the full
  check (`PRAGMA quick_check`) is deferred to the background;
* after a crash: no marker (SIGKILL, power loss): the full check runs before the first poll, as every
  start did before.

The full check's own duration on that database is printed too. DESIGN.md goal: ≤ 3 s at 100,000.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `bot` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.samples import varied
from bot.db.connection import Database
from bot.db.health import marker_path
from bot.ingest.backfill import backfill, collect
from bot.ingest.importer import ImportSettings
from bot.ingest.sftp_server import CLIENT_KEY_NAME, KNOWN_HOSTS_NAME

PROJECT = Path(__file__).resolve().parent.parent
SERVE = Path(__file__).resolve().parent / "sftp_serve.py"
SERVER = "bench"
REMOTE_DIR = "gamestats"


async def build(work: Path, count: int) -> Path:
    """The served folder and a template database with every file imported (kept between runs)."""
    template = work / f"imported-{count}.db"
    if template.exists():
        print(f"reusing {template}", flush=True)
        return template
    served = work / "served" / REMOTE_DIR
    shutil.rmtree(served, ignore_errors=True)
    served.mkdir(parents=True)
    started = time.monotonic()
    for name, data in varied(count):
        (served / name).write_bytes(data)
    print(f"wrote {count} files in {time.monotonic() - started:.0f} s", flush=True)
    started = time.monotonic()
    files, _ = collect([served])
    part = template.with_name(template.name + ".part")
    part.unlink(missing_ok=True)
    async with await Database.open(part) as db:
        summary = await backfill(db, files, server=SERVER, settings=ImportSettings())
        # What a daemon that has run for years leaves: every post sent, every past session closed (else
        # the first minutes after start close thousands of sessions: a catch-up, not a start or idle).
        await db.execute("UPDATE outbox SET state = 'sent', sent_at = created_at")
        await db.execute("UPDATE sessions SET closed = 1")
    marker_path(part).unlink(missing_ok=True)
    os.replace(part, template)
    print(f"imported in {time.monotonic() - started:.0f} s: {summary.line()}", flush=True)
    print(f"database: {template.stat().st_size / 1e6:.0f} MB", flush=True)
    return template


def config(work: Path, port: int) -> Path:
    keys = work / "keys"
    path = work / "bench.toml"
    path.write_text(
        f"""[paths]
data_dir = "{work / "data"}"
local_stats = "{work / "local_stats"}"
[backup]
enabled = false
[log]
level = "WARNING"
[[servers]]
name = "{SERVER}"
host = "127.0.0.1"
port = {port}
username = "bench"
private_key = "{keys / CLIENT_KEY_NAME}"
known_hosts = "{keys / KNOWN_HOSTS_NAME}"
remote_dir = "{REMOTE_DIR}"
poll_seconds = 10
"""
    )
    return path


def first_poll_at(db_path: Path) -> float | None:
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=0.05)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute("SELECT max(last_success_at) FROM server_status").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return None if row is None or row[0] is None else float(row[0])


def one_start(work: Path, template: Path, cfg: Path, *, clean: bool) -> float:
    """Seconds from launch to the first recorded successful poll; the child is stopped with SIGTERM."""
    data = work / "data"
    shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(work / "local_stats", ignore_errors=True)
    data.mkdir()
    db_path = data / "statsbot.db"
    shutil.copyfile(template, db_path)
    if clean:
        marker_path(db_path).write_text(f'{{"closed_at": {time.time()}, "checked_at": {time.time()}}}')
    launched = time.time()
    child = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(cfg), "run"],
        cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        while True:
            at = first_poll_at(db_path)
            if at is not None and at >= launched:
                return at - launched
            if child.poll() is not None:
                err = child.stderr.read().decode(errors="replace") if child.stderr else ""
                raise SystemExit(f"statsbot run exited with {child.returncode}: {err[-2000:]}")
            time.sleep(0.02)
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(60)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def quick_check_seconds(template: Path) -> float:
    started = time.monotonic()
    conn = sqlite3.connect(f"file:{template}?mode=ro", uri=True)
    try:
        conn.execute("PRAGMA quick_check").fetchall()
    finally:
        conn.close()
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="keep the built folder and database here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="statsbot-startup-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        template = asyncio.run(build(work, args.files))
        print(f"PRAGMA quick_check on it: {quick_check_seconds(template):.2f} s", flush=True)
        server = subprocess.Popen(
            [sys.executable, str(SERVE), str(work / "served"), str(work / "keys"), "--exec", "shell"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        assert server.stdout is not None
        try:
            line = b""
            while not line.startswith(b"port "):
                line = server.stdout.readline()
                if not line:
                    raise SystemExit("the SFTP server process ended before listening")
            cfg = config(work, int(line.split()[1]))
            for clean, label in ((True, "clean start (check deferred)"), (False, "start after a crash")):
                times = [one_start(work, template, cfg, clean=clean) for _ in range(args.runs)]
                shown = ", ".join(f"{t:.2f}" for t in times)
                median = statistics.median(times)
                print(f"{label}: launch -> first completed poll {shown} s (median {median:.2f})")
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
