"""A reader beside the running daemon (`diagnose`, the Docker HEALTHCHECK's `health`, a `sqlite3` shell)
must never take the daemon's WAL away.

SQLite's locks are POSIX advisory locks: closing ANY file descriptor of the database file in a process
drops every lock that process holds on it (sqlite.org/howtocorrupt.html §2.2). Had the daemon opened
and closed the database file itself (to fsync it for the watermark record), the next reader to close
would find itself the last connection, checkpoint and delete `statsbot.db-wal` and `-shm`: the daemon
then commits into an unlinked WAL that no other process sees, and a SIGKILL loses those commits.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.helpers.sftp import sftp_rig
from tests.test_crash import PROJECT
from tests.test_forget import round_ones, setup, statsbot

pytestmark = pytest.mark.timeout(90)


def rounds_seen_by_another_process(db: Path) -> int:
    conn = sqlite3.connect(db)  # a reader in this (test) process: closing it is what a reader does
    try:
        return int(conn.execute("SELECT count(*) FROM rounds").fetchone()[0])
    finally:
        conn.close()


async def wait_for(what: str, check: object, seconds: float = 20.0) -> None:
    for _ in range(int(seconds * 10)):
        await asyncio.sleep(0.1)
        if callable(check) and check():
            return
    pytest.fail(what)


async def test_readers_beside_the_daemon_see_its_commits_and_keep_its_wal(tmp_path: Path) -> None:
    files = round_ones()
    data_dir = tmp_path / "data"
    db = data_dir / "statsbot.db"
    record = data_dir / "statsbot.watermark"
    async with sftp_rig(tmp_path / "sftp") as rig:
        config = setup(tmp_path, rig)
        rig.write(*files[0])
        daemon = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--config", str(config), "run",
            cwd=PROJECT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            await wait_for(
                "the daemon never recorded its first round",
                lambda: record.exists() and json.loads(record.read_text())["marks"]["rounds"] == 1,
            )
            code, out, err = await statsbot(config, "diagnose")  # a reader beside the daemon
            assert code == 0, out + err
            assert rounds_seen_by_another_process(db) == 1
            assert (data_dir / "statsbot.db-wal").exists()  # the daemon's WAL is still there

            rig.write(*files[1])
            await wait_for(
                "a commit of the daemon stayed invisible to other processes (its WAL was deleted)",
                lambda: rounds_seen_by_another_process(db) == 2,
            )
            code, out, err = await statsbot(config, "diagnose")
            assert code == 0, out + err
            assert "no differences" in out, out
        finally:
            daemon.send_signal(signal.SIGKILL)  # a crash now must lose nothing the readers saw
            await daemon.wait()
        code, out, err = await statsbot(config, "once")
    assert code == 0, err  # not refused as BEHIND its record: nothing was lost
    assert rounds_seen_by_another_process(db) == 2
