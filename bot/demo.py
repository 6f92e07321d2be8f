"""`statsbot demo`: the real daemon against an embedded SSH server that releases bundled files like a game."""

from __future__ import annotations

import asyncio
import importlib.resources
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import structlog

from bot.app import App
from bot.config import Settings
from bot.db import files as dbfiles
from bot.db import history as dbhistory
from bot.db import ops_queries, outbox
from bot.db.connection import Database
from bot.ingest.session_posts import close_idle_sessions
from bot.ingest.sftp_server import EmbeddedSftpServer
from bot.log import configure_logging
from bot.stats.names import parse_filename

log = structlog.get_logger(__name__)

SERVER = "demo"
REMOTE_DIR = "gamestats"
POLL_SECONDS = 0.5
MIN_FILE_AGE = 2.5  # the growing file's second write comes 1.5 s after the first: the gate holds it
RELEASE_GAP = 0.25  # seconds between two released files (before `speed`)
TIMEOUT = 50.0
FINAL = frozenset(dbfiles.FINAL_STATES)


@dataclass(frozen=True, slots=True)
class Release:
    """One step of the fake game server: write `data` (append when `append`) to `name`."""

    name: str
    data: bytes
    append: bool = False
    delay: float = RELEASE_GAP
    note: str = ""


def bundled_files() -> list[tuple[str, bytes]]:
    """The real sample files shipped inside the package (bot/demo_data), by name."""
    folder = importlib.resources.files("bot") / "demo_data"
    files = [(entry.name, entry.read_bytes()) for entry in folder.iterdir() if entry.name.endswith(".txt")]
    return sorted(files)


def corrupt(data: bytes) -> bytes:
    """A size-stable but broken file: the weapon block of the first player line is garbage."""
    lines = data.split(b"\n")
    head, _, rest = lines[1].partition(b"\\")
    lines[1] = b"\\".join([head, *rest.split(b"\\")[:3], b"not-a-weapon-mask"])
    return b"\n".join(lines)


def release_plan(files: Sequence[tuple[str, bytes]]) -> list[Release]:
    """Chronological releases, with one R2 before its R1, one file in two writes and one corrupt file."""
    plan = [Release(name, data) for name, data in files]
    names = [r.name for r in plan]
    # A round 2 released before its round 1 (a late R1), far enough apart that the R2 is imported alone
    # and re-derived when its R1 arrives.
    r2 = next(i for i in range(1, len(names)) if _round(names[i]) == 2 and _round(names[i - 1]) == 1)
    plan[r2 - 1], plan[r2] = (
        Release(plan[r2].name, plan[r2].data, note="round 2 released before its round 1"),
        Release(plan[r2 - 1].name, plan[r2 - 1].data, delay=MIN_FILE_AGE + 2.0, note="the late round 1"),
    )
    # A file that arrives in two writes: first half, then the rest a moment later (within the gate).
    grow = max(len(plan) // 2, r2 + 2)
    name, data = plan[grow].name, plan[grow].data
    half = len(data) // 2
    plan[grow : grow + 1] = [
        Release(name, data[:half], note="first half of a file still being written"),
        Release(name, data[half:], append=True, delay=1.5, note="the rest of it"),
    ]
    # A corrupt file with a valid name: a made-up later round of a real map, its weapon block garbage.
    first = parse_filename(files[0][0])
    bad_name = f"2025-12-31-235959-{first.map}-round-{first.round_number}.txt"
    plan.append(Release(bad_name, corrupt(files[0][1]), note="corrupt file"))
    return plan


def _round(name: str) -> int:
    return parse_filename(name).round_number


async def release(root: Path, plan: Sequence[Release], speed: float, out: TextIO) -> None:
    """Write the files like a game server does: in place, over time."""
    for step in plan:
        await asyncio.sleep(step.delay / speed)
        await asyncio.to_thread(_write, root / step.name, step.data, step.append)
        if step.note:
            print(f"[server] {step.name}: {step.note}", file=out, flush=True)


def _write(path: Path, data: bytes, append: bool) -> None:
    with open(path, "ab" if append else "wb") as handle:
        handle.write(data)


async def wait_until_listed(app: App, daemon: asyncio.Task[int], limit_seconds: float) -> None:
    """Until the daemon recorded its first complete listing of the (empty) demo folder."""
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline and not daemon.done():
        if app.db is not None and await dbhistory.horizon_of(app.db, SERVER) is not None:
            return
        await asyncio.sleep(0.05)


async def wait_until_done(app: App, names: set[str], limit_seconds: float) -> bool:
    """True once every released file is in a final state and the outbox is drained."""
    deadline = time.monotonic() + limit_seconds
    while time.monotonic() < deadline:
        db = app.db
        if db is not None:
            rows = await dbfiles.get_rows(db, SERVER, names)
            done = len(rows) == len(names) and all(r.state in FINAL for r in rows.values())
            if done and await outbox.backlog(db) == 0:
                return True
        await asyncio.sleep(0.2)
    return False


async def report(settings: Settings, out: TextIO) -> None:
    """The diagnose report (remote / local_stats / registry / rounds), then states, rounds, pairs, errors."""
    from bot.ops.diagnose import diagnose
    from bot.ops.report import render_text

    async with await Database.open(settings.paths.db_path, lock=False) as db:
        diagnosis = await diagnose(db, settings, limit_seconds=10)
        states = await ops_queries.state_counts(db)
        rounds = await ops_queries.round_refs(db, SERVER)
        quarantined = await dbfiles.rows_in_state(db, "quarantined", SERVER)
    print("\n=== diagnose ===", file=out)
    print(render_text(diagnosis), file=out)
    print("\n=== demo report ===", file=out)
    print("files per state: " + ", ".join(f"{s} {n}" for (_, s), n in sorted(states.items())), file=out)
    by_status: dict[str, int] = {}
    for r in rounds:
        by_status[r.status] = by_status.get(r.status, 0) + 1
    pairs = sum(1 for r in rounds if r.round_number == 2 and r.status == "paired")
    print(f"rounds: {len(rounds)} ({', '.join(f'{k} {v}' for k, v in sorted(by_status.items()))})", file=out)
    print(f"R1+R2 pairs: {pairs}", file=out)
    for row in quarantined:
        print(f"quarantined: {row.last_error}", file=out)  # the error names the file, line and field


async def run_demo(*, speed: float = 1.0, out: TextIO | None = None) -> int:
    """Zero config: temp folders, fresh keys, the real scheduler/poller/importer/console sink. Exit 0."""
    out = out or sys.stdout
    configure_logging("WARNING", json=False)
    with tempfile.TemporaryDirectory(prefix="statsbot-demo-") as tmp:
        root = Path(tmp)
        served = root / "served" / REMOTE_DIR
        served.mkdir(parents=True)
        plan = release_plan(bundled_files())
        async with EmbeddedSftpServer(root / "served", root / "keys") as srv:
            settings = demo_settings(root, srv)
            print(f"[demo] SSH server on 127.0.0.1:{srv.port}, {len(plan)} releases", file=out, flush=True)
            stop = asyncio.Event()
            app = App(settings)
            daemon = asyncio.create_task(app.run(stop), name="daemon")
            # The folder is empty when the daemon first lists it: the files released later are new
            # rounds, posted (files there before the first listing would be history, imported quietly).
            await wait_until_listed(app, daemon, TIMEOUT)
            await release(served, plan, speed, out)
            done = await wait_until_done(app, {r.name for r in plan}, TIMEOUT)
            if done and app.db is not None:
                # The evening is over: summarise every session now instead of after an idle hour.
                await close_idle_sessions(app.db, idle_seconds=0, now=time.time() + 1)
                done = await wait_until_done(app, {r.name for r in plan}, TIMEOUT)
            stop.set()
            code = await daemon
            await report(settings, out)  # while the server still runs: the report lists the remote too
    if not done:
        print("[demo] not every file reached a final state in time", file=out)
        return 1
    return code


def demo_settings(root: Path, srv: EmbeddedSftpServer) -> Settings:
    return Settings.from_values(
        paths={"data_dir": root / "data", "local_stats": root / "local_stats"},
        servers=[
            {
                "name": SERVER,
                "host": "127.0.0.1",
                "port": srv.port,
                "username": "demo",
                "private_key": srv.client_key_path,
                "known_hosts": srv.known_hosts_path,
                "remote_dir": f"/{REMOTE_DIR}",
                "poll_seconds": POLL_SECONDS,
                "min_file_age_seconds": MIN_FILE_AGE,
                "full_listing_seconds": 10,
                "connect_timeout_seconds": 5,
                "operation_timeout_seconds": 10,
            }
        ],
        ingest={"retry_base_seconds": 1, "retry_max_seconds": 5},
        discord={"posts": "all"},  # the showcase prints every kind: round, match and session posts
        backup={"enabled": False},
        log={"level": "WARNING", "json": False},
    )
