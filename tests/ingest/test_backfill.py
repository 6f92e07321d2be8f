"""Backfill with worker processes: the same database, byte for byte, as importing in-process one by one."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

from bench.samples import replicate, write_files
from bot.db.connection import Database
from bot.ingest.backfill import backfill, collect
from bot.ingest.importer import ImportSettings
from tests.helpers.engines import NewStore
from tests.helpers.store import import_path

SETTINGS = ImportSettings()
PROJECT = Path(__file__).resolve().parent.parent.parent


async def _dump(db: Database) -> dict[str, Any]:
    """Every table the import writes, ids replaced by file names, nonces and clocks left out."""
    rounds = await db.fetchall(
        "SELECT r.server, r.filename, r.sha256, r.map, r.round_number, r.played_at, r.server_name, "
        "r.config, r.defender, r.winner, r.time_limit_s, r.next_time_limit_s, r.duration_ms, r.duration_s, "
        "r.extras_fields, r.player_count, r.status, r.flags, r.pairable, p.filename, s.started_at "
        "FROM rounds r LEFT JOIN rounds p ON p.id = r.paired_round_id "
        "LEFT JOIN sessions s ON s.id = r.session_id ORDER BY r.server, r.filename"
    )
    players = await db.fetchall(
        "SELECT r.filename, ps.* FROM player_stats ps JOIN rounds r ON r.id = ps.round_id "
        "ORDER BY r.filename, ps.player_key"
    )
    weapons = await db.fetchall(
        "SELECT r.filename, ws.* FROM weapon_stats ws JOIN rounds r ON r.id = ws.round_id "
        "ORDER BY r.filename, ws.player_key, ws.weapon"
    )
    matches = await db.fetchall(
        "SELECT a.filename, b.filename, m.outcome, m.winner_team, m.r1_time_s, m.r2_time_s FROM matches m "
        "JOIN rounds a ON a.id = m.r1_round_id JOIN rounds b ON b.id = m.r2_round_id ORDER BY a.filename"
    )
    outbox = await db.fetchall("SELECT kind, channel, dedupe_key, payload FROM outbox ORDER BY id")
    registry = await db.fetchall(
        "SELECT server, filename, size, sha256, state, attempts, last_error FROM processed_files "
        "ORDER BY server, filename"
    )
    events = await db.fetchall("SELECT server, filename, event, detail FROM file_events ORDER BY id")

    def strip(rows: list[Any]) -> list[tuple[Any, ...]]:
        return [tuple(v for k, v in zip(r.keys(), tuple(r), strict=True) if k != "round_id") for r in rows]

    return {
        "rounds": [tuple(r) for r in rounds],
        "players": strip(players),
        "weapons": strip(weapons),
        "matches": [tuple(r) for r in matches],
        "outbox": [tuple(r) for r in outbox],
        "registry": [tuple(r) for r in registry],
        "events": [tuple(r) for r in events],
    }


def _record(done: list[int], n: int, total: int, name: str) -> None:
    done.append(n)


def _folder(tmp_path: Path, samples_dir: Path) -> Path:
    """~125 files: two replicated copies of the samples, a companion, two names also found in a second
    folder with other bytes (one not even a stats file), and the same bytes under a second name."""
    folder = tmp_path / "in"
    write_files(folder, list(replicate(120)))
    shutil.copy(samples_dir / "2025-10-02-232339-erdenberg_t2-round-1.txt", folder)
    shutil.copy(samples_dir / "2025-10-02-232818-erdenberg_t2-round-2.txt", folder)
    for companion in samples_dir.glob("*endstats*"):
        shutil.copy(companion, folder)
    first = sorted(folder.glob("*-round-1.txt"))[0]
    (folder / "again").mkdir()
    (folder / "again" / first.name).write_bytes(first.read_bytes().replace(b"\\", b" changed\\", 1))
    twin = first.read_bytes()
    (folder / "again" / ("2030-01-01-000000" + first.name[17:])).write_bytes(twin)
    other = sorted(folder.glob("*-round-2.txt"))[3]
    (folder / "again" / other.name).write_bytes(b"not a stats file\n")
    return folder


async def test_worker_processes_give_the_same_database_as_one_by_one(
    tmp_path: Path, samples_dir: Path, new_store: NewStore
) -> None:
    folder = _folder(tmp_path, samples_dir)
    files, _ = collect([folder])
    async with await Database.open(new_store("single.db")) as single:
        for path in files:
            await import_path(single, path, now=50.0, mtime=int(path.stat().st_mtime))
        expected = await _dump(single)
    # Batches of 9: many R1/R2 pairs straddle two batches, so both the pairs foreseen by the worker and
    # those derived in the transaction are used; one worker process prepares batches ahead.
    for workers in (1, 0):
        done: list[int] = []
        async with await Database.open(new_store(f"backfill-{workers}.db")) as db:
            summary = await backfill(
                db, files, server="main", settings=SETTINGS, batch_size=9, workers=workers, warm_up=False,
                clock=lambda: 50.0, progress=functools.partial(_record, done),
            )  # fmt: skip
            assert done == sorted(done)
            assert done[-1] == len(files)
            assert summary.imported > 100
            assert (summary.duplicates, summary.quarantined, summary.ignored) == (1, 2, 1)
            assert await _dump(db) == expected, workers


def _children(pid: int) -> set[int]:
    """Live processes whose parent is `pid` (from /proc: Linux)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


async def test_worker_processes_exit_when_the_import_is_killed(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    write_files(folder, list(replicate(3000)))
    config = tmp_path / "c.toml"
    config.write_text(f'[paths]\ndata_dir = "{tmp_path / "data"}"\n[backup]\nenabled = false\n')
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--config", str(config), "import", str(folder),
        cwd=PROJECT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    workers: set[int] = set()
    for _ in range(200):  # the pool starts with the first batch
        await asyncio.sleep(0.05)
        workers = _children(child.pid) - {child.pid}
        if len(workers) >= 2:
            break
    assert workers, "no worker process was started"
    child.send_signal(signal.SIGKILL)
    await child.wait()
    for _ in range(50):
        if not _alive(workers):
            break
        await asyncio.sleep(0.1)
    assert _alive(workers) == set()
    assert child.stderr is not None
    await asyncio.wait_for(child.stderr.read(), 5)  # nothing left holding the killed import's stderr


async def test_a_worker_killed_mid_backfill_costs_nothing_but_speed(
    tmp_path: Path, new_store: NewStore
) -> None:
    folder = tmp_path / "in"
    write_files(folder, list(replicate(600)))
    files, _ = collect([folder])

    async def kill_a_worker() -> int:
        while True:
            for pid in _children(os.getpid()):
                try:
                    cmdline = (Path("/proc") / str(pid) / "cmdline").read_bytes()
                except OSError:
                    continue
                if b"spawn_main" in cmdline:
                    os.kill(pid, signal.SIGKILL)
                    return pid
            await asyncio.sleep(0.01)

    async with await Database.open(new_store("s.db")) as db:
        killer = asyncio.create_task(kill_a_worker())
        summary = await backfill(
            db, files, server="main", settings=SETTINGS, batch_size=20, workers=1, warm_up=False
        )
        assert killer.done()
        await killer
        assert summary.imported == 600
        row = await db.fetchone("SELECT count(*), count(DISTINCT filename) FROM rounds")
        assert row is not None
        assert tuple(row) == (600, 600)
