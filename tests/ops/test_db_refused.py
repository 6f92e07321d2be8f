"""A database that refuses writes (disk full): the admin hears of it once, directly, and of the recovery."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from structlog.testing import capture_logs

from tests.helpers.daemon import QuietChat, daemon_settings, make_app, server_values
from tests.helpers.sftp import sftp_rig

FULL = "database or disk is full"


def _set_full(db_path: Path, full: bool) -> None:
    # server_status is written by every poll; SQLite refuses it as a full disk would (SQLITE_FULL's words).
    shell = sqlite3.connect(db_path, timeout=30)  # the running daemon writes between polls
    try:
        if full:
            shell.execute(
                f"CREATE TRIGGER full BEFORE INSERT ON server_status BEGIN SELECT RAISE(ABORT, '{FULL}'); END"
            )
        else:
            shell.execute("DROP TRIGGER full")
        shell.commit()
    finally:
        shell.close()


async def _until(check: object, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if callable(check) and check():
            return
        await asyncio.sleep(0.05)


async def test_full_database_disk_sends_one_direct_notice_and_a_recovery(tmp_path: Path) -> None:
    async with sftp_rig(tmp_path) as rig:
        settings = daemon_settings(tmp_path, [server_values("main", rig, poll_seconds=0.2)])
        chat = QuietChat()
        app = make_app(settings, chat=chat)
        stop = asyncio.Event()
        with capture_logs() as logs:
            daemon = asyncio.create_task(app.run(stop))
            await _until(lambda: any(e["event"] == "scheduler_started" for e in logs))
            await asyncio.sleep(0.3)
            _set_full(settings.paths.db_path, True)
            await _until(lambda: "refuses writes" in chat.stream.getvalue())
            await asyncio.sleep(1.0)  # about ten more refused polls
            _set_full(settings.paths.db_path, False)
            await _until(lambda: "accepts writes again" in chat.stream.getvalue())
            stop.set()
            assert await asyncio.wait_for(daemon, 30) == 0
    text = chat.stream.getvalue()
    assert text.count("ALERT statsbot") == 1, text  # one notice, not one per poll
    assert f"the database {settings.paths.db_path} refuses writes (disk full;" in text
    assert "MB free" in text
    assert text.count("RESOLVED statsbot") == 1, text
    assert "accepts writes again" in text
    assert text.index("ALERT statsbot") < text.index("RESOLVED statsbot")
    events = [e["event"] for e in logs]
    assert events.count("database_refuses_writes") == 1
    assert "job_failed" not in events  # rate-limited: one warning, reminders every 10 minutes
    assert events.count("database_writes_recovered") == 1
