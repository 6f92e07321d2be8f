"""Crash consistency: child processes importing hundreds of files are SIGKILLed at random moments.

Two children take turns: `statsbot import FOLDER` (local backfill) and `statsbot once` against the
in-process SFTP server (downloads through `.part` files). After at least 20 kills and a final clean run of
each, every file must be imported exactly once, nothing missing, the database intact, no `.part` left.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sys
from pathlib import Path

import pytest

from bench.samples import replicate, write_files
from bot.db import files as dbfiles
from bot.db import ops_queries
from bot.db.connection import Database
from tests.helpers.daemon import server_values
from tests.helpers.engines import NewStore
from tests.helpers.sftp import sftp_rig

PROJECT = Path(__file__).resolve().parent.parent
KILLS = 20
BATCH = 150  # files per batch; more batches are added while kills remain (a fast importer finishes early)
SEED = 20261121

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def config_text(base: Path, server: dict[str, object], database: Path | str | None = None) -> str:
    """The children's config; `database` a PostgreSQL URL puts the database there (else base/data/)."""
    lines = ["[paths]", f'data_dir = "{base / "data"}"', f'local_stats = "{base / "local_stats"}"']
    if isinstance(database, str):
        lines += ["[database]", f'url = "{database}"']
    lines += ["[backup]", "enabled = false", "[log]", 'level = "WARNING"', "json = true"]
    lines += ["[discord]", 'posts = "all"']  # round posts too: the tests count what is printed per round
    lines += ["[[servers]]"]
    for key, value in server.items():
        lines.append(f"{key} = {value}" if isinstance(value, int | float) else f'{key} = "{value}"')
    return "\n".join(lines) + "\n"


async def spawn(config: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--config", str(config), *args,
        cwd=PROJECT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def run_to_end(config: Path, *args: str) -> None:
    child = await spawn(config, *args)
    _, err = await asyncio.wait_for(child.communicate(), 90)
    assert child.returncode == 0, err.decode()[-3000:]


def store_of(base: Path, database: Path | str) -> Path | str:
    """Where config_text(base, ..., database) puts the database."""
    return database if isinstance(database, str) else base / "data" / "statsbot.db"


async def test_sigkill_at_random_moments_loses_nothing_and_imports_nothing_twice(
    tmp_path: Path, new_store: NewStore
) -> None:
    rng = random.Random(SEED)
    loop = asyncio.get_running_loop()
    files = iter(replicate(60 * BATCH))
    local_dir = tmp_path / "backfill"
    expected: dict[str, set[str]] = {"local": set(), "main": set()}

    async with sftp_rig(tmp_path / "sftp") as rig:

        def add_batch() -> None:
            batch = [next(files) for _ in range(BATCH)]
            write_files(local_dir, batch[: BATCH // 2])
            expected["local"].update(name for name, _ in batch[: BATCH // 2])
            for name, data in batch[BATCH // 2 :]:
                rig.write(name, data)
                expected["main"].add(name)

        config = tmp_path / "statsbot.toml"
        values = server_values(
            "main", rig, min_file_age_seconds=0, max_parallel_downloads=4, full_listing_seconds=300
        )
        database = new_store()
        config.write_text(config_text(tmp_path, values, database))
        add_batch()
        add_batch()
        kills = 0
        turn = 0
        latest = {"import": 1.2, "once": 1.5}  # kill moments are drawn from [0.3 s, latest]
        while kills < KILLS:
            kind = "import" if turn % 2 == 0 else "once"
            args = ("import", "--server", "local", str(local_dir)) if kind == "import" else ("once",)
            turn += 1
            child = await spawn(config, *args)
            started = loop.time()
            try:
                await asyncio.wait_for(child.wait(), rng.uniform(0.3, latest[kind]))
            except TimeoutError:
                child.send_signal(signal.SIGKILL)
                await child.wait()
                kills += 1
            else:
                err = await child.stderr.read() if child.stderr else b""
                assert child.returncode == 0, err.decode()[-3000:]
                # it finished before the kill: more work, and kill the next ones sooner
                latest[kind] = max(0.5, 0.9 * (loop.time() - started))
                add_batch()
        await run_to_end(config, "import", "--server", "local", str(local_dir))
        await run_to_end(config, "once")

    async with await Database.open(store_of(tmp_path, database)) as db:
        assert await db.integrity_check() == ["ok"]
        for server, names in expected.items():
            rows = await dbfiles.get_rows(db, server, names)
            assert set(rows) == names  # nothing missing
            assert {r.state for r in rows.values()} == {"imported"}
            rounds = await ops_queries.round_refs(db, server)
            assert sorted(r.filename for r in rounds) == sorted(names)  # one round per file
            for name in rng.sample(sorted(names), 40):  # each import happened once, never redone
                events = [e.event for e in await dbfiles.events_for(db, server, name)]
                assert events.count("imported") == 1, (name, events)
    assert kills >= KILLS
    assert list((tmp_path / "local_stats").rglob("*.part")) == []
