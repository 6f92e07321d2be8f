"""Console posts are printed once even when `statsbot run` is SIGKILLed right after printing (issue 10.3).

The test reads the daemon's stdout and kills it the moment a post header appears: before the outbox
row is marked sent, most of the time. The next daemon must not print that post again. Posts missing
from stdout (a kill between the journal's fsync and the print) must be in the console journal.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest

from bot.db.connection import Database
from tests.helpers.daemon import server_values
from tests.helpers.engines import NewStore
from tests.helpers.sftp import sftp_rig
from tests.test_crash import PROJECT, config_text, store_of
from tests.test_forget import round_ones

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

HEADER = re.compile(r"^── \[(?:stats|admin)\] post (\d+) · ", re.M)
KILLS = 5


async def run_until_first_post(config: Path) -> str:
    """`statsbot run`; SIGKILL as soon as stdout shows a post header (or after 20 s). Its stdout."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--config", str(config), "run",
        cwd=PROJECT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert child.stdout is not None
    seen = b""
    try:
        async with asyncio.timeout(20):
            while line := await child.stdout.readline():
                seen += line
                if HEADER.search(line.decode()):
                    break
    except TimeoutError:
        pass
    finally:
        child.send_signal(signal.SIGKILL)
        seen += await child.stdout.read()
        await child.wait()
    return seen.decode()


async def test_sigkill_right_after_a_console_post_never_prints_it_twice(
    tmp_path: Path, new_store: NewStore
) -> None:
    files = round_ones()[: KILLS + 2]
    printed: list[str] = []
    database = new_store()
    async with sftp_rig(tmp_path / "sftp") as rig:
        config = tmp_path / "statsbot.toml"
        config.write_text(config_text(tmp_path, server_values("main", rig, min_file_age_seconds=0), database))
        for name, data in files:
            rig.write(name, data)
        for _ in range(KILLS):
            printed += HEADER.findall(await run_until_first_post(config))
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--config", str(config), "once",
            cwd=PROJECT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await child.communicate()
        assert child.returncode == 0, err.decode()[-2000:]
        printed += HEADER.findall(out.decode())
    twice = {post: n for post, n in Counter(printed).items() if n > 1}
    assert twice == {}, f"printed more than once: {twice}"
    async with await Database.open(store_of(tmp_path, database), lock=False) as db:
        rows = await db.fetchall("SELECT id, nonce FROM outbox WHERE state = 'sent' AND channel = 'stats'")
    assert len(rows) == len(files)
    journal = (tmp_path / "data" / "console.journal").read_text()
    for post_id, nonce in rows:
        assert str(post_id) in printed or nonce in journal  # never lost: printed, or in the journal
