"""The never-forget record with two REAL `statsbot run` daemons on one PostgreSQL database (a leader and
a standby, each with its own data dir and record): the standby's older record does not refuse a database
ahead of it; an emptied database is refused by both; `--accept-data-loss` on both re-imports without
posting anything a second time, and the next new round is posted once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.helpers import pg
from tests.helpers.sftp import SftpRig, sftp_rig
from tests.test_failover_daemons import PROJECT, config_text, events_in, until
from tests.test_forget import ROUND_POST, round_ones

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


class Host:
    """One host: its config, data dir, console (stdout: the posts) and JSON log (stderr)."""

    def __init__(self, name: str, base: Path, rig: SftpRig, url: str) -> None:
        self.base = base / name
        self.base.mkdir(parents=True, exist_ok=True)
        self.config = self.base / "statsbot.toml"
        self.config.write_text(config_text(self.base, rig))
        self.out, self.log = self.base / "console.txt", self.base / "log.jsonl"
        self.env = os.environ | {"STATSBOT_DATABASE__URL": url, "STATSBOT_DATABASE__INSTANCE": name}
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, *args: str) -> None:
        with self.out.open("a") as out, self.log.open("a") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "--config", str(self.config), "run", *args,
                cwd=PROJECT, env=self.env, stdout=out, stderr=err,
            )  # fmt: skip

    def posts(self) -> int:
        return self.out.read_text().count(ROUND_POST) if self.out.exists() else 0

    def role(self) -> str | None:
        roles = events_in(self.log, "role_changed")
        return str(roles[-1]["role"]) if roles else None

    def rounds_recorded(self) -> int:
        records = list((self.base / "data").glob("statsbot-postgresql-*.watermark"))
        return int(json.loads(records[0].read_text())["marks"]["rounds"]) if records else -1

    async def exit_code(self, timeout: float = 60) -> int:
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def stop(self) -> int:
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode or 0 if self.proc is not None else 0
        self.proc.send_signal(signal.SIGTERM)
        return await self.exit_code()


def imported(url: str) -> int:
    with pg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM processed_files WHERE state = 'imported'").fetchone()
    return int(row[0]) if row else 0


async def test_leader_and_standby_refuse_an_emptied_database_and_accept_without_reposting(
    tmp_path: Path, pg_database_url: str
) -> None:
    files = round_ones()
    url = pg_database_url
    async with sftp_rig(tmp_path / "sftp") as rig:
        a, b = Host("alpha", tmp_path, rig, url), Host("beta", tmp_path, rig, url)
        try:
            await a.start()
            await until(lambda: a.role() == "leader", 60, "alpha never led")
            await b.start()
            await until(lambda: b.role() == "standby", 60, "beta never stood by")
            assert b.rounds_recorded() == 0  # its first record, at start
            assert await b.stop() == 0  # beta is down while alpha imports: its record stays older
            for name, data in files[:3]:
                rig.write(name, data)
            await until(lambda: a.posts() == 3, 60, "alpha did not post the 3 rounds")
            await until(lambda: a.rounds_recorded() == 3, 10, "alpha's record did not follow its imports")
            assert await a.stop() == 0
            assert b.rounds_recorded() == 0
            await b.start()  # the database is AHEAD of beta's record: not a loss, it starts (and leads)
            await until(lambda: b.role() == "leader", 60, "beta never led")
            await until(lambda: b.rounds_recorded() == 3, 10, "beta's record was not refreshed at start")
            assert await b.stop() == 0
            assert b.posts() == 0

            name = urlsplit(url).path.lstrip("/")
            pg.drop_database(pg.admin_url(), name)  # emptied: dropped and created again
            pg.create_database(pg.admin_url(), name)
            for host in (a, b):
                await host.start()
                assert await host.exit_code() == 1  # refused at start, before any poll
                assert "is EMPTY" in host.log.read_text()
                assert "--accept-data-loss" in host.log.read_text()
            assert imported(url) == 0

            await a.start("--accept-data-loss")
            await b.start("--accept-data-loss")
            await until(lambda: imported(url) == 3, 60, "the 3 lost files were not imported again")
            rig.write(*files[3])
            await until(lambda: imported(url) == 4, 60, "the new file was not imported")
            await until(lambda: a.posts() + b.posts() == 3 + 1, 30, "the new round was not posted")
            await asyncio.sleep(1.0)  # nothing more comes
            assert a.posts() + b.posts() == 3 + 1  # the 3 lost rounds were not posted again
            assert (await a.stop(), await b.stop()) == (0, 0)
            assert (a.rounds_recorded(), b.rounds_recorded()) == (4, 4)
        finally:
            for host in (a, b):
                if host.proc is not None and host.proc.returncode is None:
                    host.proc.kill()
                    await host.proc.wait()
