"""Two daemons (in-process Apps) on one PostgreSQL database: roles, reads on the standby, a lost lock.

The subprocess test (tests/test_failover_daemons.py) kills the leader; here the leader's lock connection
is cut while its process lives on: it must notice, stop its writer work at once and stand by, while the
other instance takes over. Reads (what chat commands run) answer on the standby all along.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

import psycopg
import pytest
from structlog.testing import capture_logs

from bench.samples import real_samples
from bot.app import App
from bot.db import chat_queries
from bot.db.leader_status import role_text
from bot.ops.health import check_health
from tests.helpers.daemon import daemon_settings, make_app, server_values
from tests.helpers.sftp import SftpRig, sftp_rig

POLL = 1.0
pytestmark = [pytest.mark.timeout(120)]


def instance(base: Path, rig: SftpRig, url: str, name: str, heartbeat: float = 0.2) -> App:
    settings = daemon_settings(
        base / name,
        [server_values("main", rig, poll_seconds=POLL, min_file_age_seconds=1)],
        database={
            "url": url,
            "instance": name,
            "leader_retry_seconds": 0.2,
            "leader_heartbeat_seconds": heartbeat,
        },
    )
    return make_app(settings)


async def until(
    what: Callable[[], bool], timeout: float, message: str, logs: list[MutableMapping[str, Any]] | None = None
) -> float:
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not what():
        if loop.time() - start > timeout:
            events = [e for e in logs or [] if e.get("log_level") != "debug"]
            pytest.fail(f"{message}; logged meanwhile: {events}")
        await asyncio.sleep(0.05)
    return loop.time() - start


def imported(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT filename, count(*) FROM file_events WHERE event = 'imported' GROUP BY filename"
        ).fetchall()
    return {str(f): int(n) for f, n in rows}


def cut_lock_connection(url: str, name: str) -> None:
    """End the leader's dedicated leadership session, as a network cut or an operator would."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            (f"statsbot {name} leadership",),
        ).fetchone()
    assert row == (1,)


# How the live leader learns it lost the lock: its heartbeat (0.2 s), or, with a heartbeat too slow to
# notice first (30 s), the fence refusing its next writer transaction (a poll cycle writes every second).
@pytest.mark.parametrize("noticed_by", ["heartbeat", "fence"])
async def test_the_standby_reads_and_takes_over_when_the_leader_loses_its_lock(
    tmp_path: Path, pg_database_url: str, noticed_by: str
) -> None:
    url = pg_database_url
    files = real_samples()[:12]
    heartbeat = 0.2 if noticed_by == "heartbeat" else 30.0
    async with sftp_rig(tmp_path / "sftp") as rig:
        a, b = instance(tmp_path, rig, url, "a", heartbeat), instance(tmp_path, rig, url, "b")
        stop_a, stop_b = asyncio.Event(), asyncio.Event()
        run_a = asyncio.create_task(a.run(stop_a))
        try:
            await until(a.writer_running, 30, "a never led")
            run_b = asyncio.create_task(b.run(stop_b))
            await until(lambda: b.standby is not None, 30, "b never stood by")
            for name, data in files[:6]:
                rig.write(name, data)
            await until(lambda: len(imported(url)) == 6, 30, "a did not import")
            # The standby polls nothing and answers reads (what /last_round and /status run).
            assert b.pollers == {}
            assert not b.writer_running()
            assert b.db is not None
            last = await chat_queries.last_round(b.db.reads, "main")
            assert last is not None
            assert await role_text(b.db, "b") == "standby (leader: a)"
            report = await check_health(
                b.db, b.settings, scheduler_running=b.writer_running(), full_db_check=False
            )
            assert report.healthy, report.render()
            assert "standby (leader: a)" in report.render()

            with capture_logs() as logs:
                cut_lock_connection(url, "a")  # a's process lives on: it must notice and stop writing
                took = await until(b.writer_running, 10, "b did not take over", logs)
                await until(
                    lambda: a.standby is not None and not a.writer_running(), 10, "a kept leading", logs
                )
            assert took <= 2 * POLL
            reasons = [e["reason"] for e in logs if e["event"] == "leadership_lost_stopping_writer_work"]
            # With a fast heartbeat either may come first (a poll cycle writes every second).
            expected = ["writer transaction refused"]
            if noticed_by == "heartbeat":
                expected.append("lock connection lost")
            assert len(reasons) == 1
            assert reasons[0] in expected
            assert a.pollers == {}
            assert a.db is not None
            assert await role_text(a.db, "a") == "standby (leader: b)"
            for name, data in files[6:]:
                rig.write(name, data)
            await until(lambda: len(imported(url)) == len(files), 30, "b did not import the rest")
            await asyncio.sleep(2 * POLL)  # a (standby) must import nothing meanwhile either
            assert imported(url) == dict.fromkeys((n for n, _ in files), 1)
            stop_b.set()
            assert await asyncio.wait_for(run_b, 30) == 0
            await until(a.writer_running, 10, "a did not lead again after b stopped")
        finally:
            stop_a.set()
            stop_b.set()
            assert await asyncio.wait_for(run_a, 30) == 0
