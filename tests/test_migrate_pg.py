"""Moving to PostgreSQL with real processes: `statsbot db migrate` SIGKILLed mid-copy and resumed by the
same command; then the real `statsbot once` (SFTP server, fake Discord) continues on the copy without
importing or posting anything again, and imports and posts a new file exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import pg
from tests.helpers.daemon import server_values
from tests.helpers.fake_discord import ADMIN_CHANNEL, GUILD_ID, STATS_CHANNEL, FakeDiscord, running
from tests.helpers.ops import BASE_MTIME, EVENING, LATER, sql
from tests.helpers.sftp import sftp_rig
from tests.test_crash import config_text

PROJECT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


async def statsbot(config: Path, *args: str, fake: FakeDiscord | None = None) -> tuple[int, str, str]:
    """A real `statsbot` child process (posting to `fake` when given); (exit code, stdout, stderr)."""
    child = await spawn(config, *args, fake=fake)
    out, err = await asyncio.wait_for(child.communicate(), 120)
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


async def spawn(config: Path, *args: str, fake: FakeDiscord | None = None) -> asyncio.subprocess.Process:
    env = dict(os.environ)
    module = "bot"
    if fake is not None:
        env["FAKE_DISCORD_BASE"] = f"http://127.0.0.1:{fake.port}/api/v10"
        env["STATSBOT_DISCORD__TOKEN"] = "fake-token"
        env["STATSBOT_DISCORD__GUILD_ID"] = str(GUILD_ID)
        env["STATSBOT_DISCORD__STATS_CHANNEL_ID"] = str(STATS_CHANNEL)
        env["STATSBOT_DISCORD__ADMIN_CHANNEL_ID"] = str(ADMIN_CHANNEL)
        module = "tests.helpers.fake_discord_child"
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, "--config", str(config), *args,
        cwd=PROJECT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


def _pg(url: str, query: str) -> list[tuple[Any, ...]]:
    with pg.connect(url) as conn:
        cur = conn.execute(query.encode())
        return [tuple(r) for r in cur.fetchall()] if cur.description else []


def _backfilled(tmp_path: Path, samples: Path, names: list[str]) -> Path:
    """A config whose SQLite database holds `names`, imported by the real `statsbot import`."""
    folder = tmp_path / "archive"
    folder.mkdir()
    for name in names:
        (folder / name).write_bytes((samples / name).read_bytes())
    config = tmp_path / "statsbot.toml"
    config.write_text(f'[paths]\ndata_dir = "{tmp_path / "data"}"\nlocal_stats = "{tmp_path / "ls"}"\n')
    return config


async def test_a_copy_killed_mid_table_is_resumed_by_the_same_command(
    tmp_path: Path, samples_dir: Path, pg_url: str
) -> None:
    config = _backfilled(tmp_path, samples_dir, EVENING + LATER)
    code, _, err = await statsbot(config, "import", str(tmp_path / "archive"))
    assert code == 0, err
    db = tmp_path / "data" / "statsbot.db"
    [(weapons,)] = sql(db, "SELECT count(*) FROM weapon_stats")
    child = await spawn(config, "db", "migrate", "--to", pg_url, "--chunk", "5")
    progress = "SELECT copied, state FROM migration_copy WHERE tbl = 'weapon_stats'"
    with pg.connect(pg_url) as conn:
        deadline = time.monotonic() + 60
        while True:  # until some weapon_stats chunks are in
            assert time.monotonic() < deadline
            assert child.returncode is None
            row = conn.execute(progress.encode()).fetchone() if _has_record(conn) else None
            if row is not None and row[0] >= 50:
                break
            await asyncio.sleep(0.005)
        # Hold the copier at its next chunk (its ALTER TABLE waits for this lock), then kill it there.
        conn.execute(b"BEGIN")
        conn.execute(b"LOCK TABLE weapon_stats IN SHARE MODE")
        copied, state = conn.execute(progress.encode()).fetchone() or (0, "")
        assert state == "rows"
        assert 50 <= copied < weapons
        child.send_signal(signal.SIGKILL)
        await child.wait()
        conn.execute(b"ROLLBACK")
    assert _pg(pg_url, "SELECT count(*) FROM weapon_stats") == [(copied,)]  # the killed chunk left nothing
    code, out, err = await statsbot(config, "db", "migrate", "--to", pg_url, "--chunk", "50")
    assert code == 0, err + out
    assert "resuming the unfinished copy" in out
    assert f"weapon_stats: {copied + 50}/{weapons} rows" in out  # resumed from the last copied key
    assert "DIFFERENT" not in out
    assert "copied (resumed) and verified" in out
    for table in ("rounds", "weapon_stats", "player_stats", "players", "outbox", "processed_files"):
        assert _pg(pg_url, f"SELECT count(*) FROM {table}") == sql(db, f"SELECT count(*) FROM {table}")
    code, out, _ = await statsbot(config, "db", "migrate", "--to", pg_url)
    assert code == 0
    assert "nothing to do" in out


def _has_record(conn: Any) -> bool:
    row = conn.execute(b"SELECT to_regclass('migration_copy') IS NOT NULL").fetchone()
    return bool(row and row[0])


async def test_the_daemon_continues_on_postgresql_without_importing_or_posting_again(
    tmp_path: Path, samples_dir: Path, pg_database_url: str
) -> None:
    async with sftp_rig(tmp_path / "sftp") as rig, running() as fake:
        for i, name in enumerate(EVENING):
            rig.write(name, (samples_dir / name).read_bytes(), mtime=BASE_MTIME + i)
        values = server_values("main", rig, min_file_age_seconds=0)
        config = tmp_path / "statsbot.toml"
        config.write_text(config_text(tmp_path, values))
        code, _, err = await statsbot(config, "once", fake=fake)
        assert code == 0, err
        posts = len(fake.posts())
        assert posts >= len(EVENING)  # a post per round, and the matches
        db = tmp_path / "data" / "statsbot.db"
        code, before, err = await statsbot(config, "diagnose", "--json")
        assert code == 0, err

        code, out, err = await statsbot(config, "db", "migrate", "--to", pg_database_url)
        assert code == 0, err + out
        config.write_text(config.read_text() + f'[database]\nurl = "{pg_database_url}"\n')
        events = _pg(pg_database_url, "SELECT count(*) FROM file_events")
        assert events == sql(db, "SELECT count(*) FROM file_events")

        code, _, err = await statsbot(config, "once", fake=fake)  # on PostgreSQL now
        assert code == 0, err
        assert len(fake.posts()) == posts  # nothing posted again
        assert _pg(pg_database_url, "SELECT count(*) FROM rounds") == [(len(EVENING),)]
        assert _pg(pg_database_url, "SELECT count(*) FROM file_events") == events  # nothing imported again
        code, after, err = await statsbot(config, "diagnose", "--json")
        assert code == 0, err
        assert _comparable(json.loads(after)) == _comparable(json.loads(before))
        report = json.loads(after)
        assert report["healthy"] is True
        assert report["servers"][0]["counts"]["rounds"] == len(EVENING)
        assert report["servers"][0]["differences"] == []

        for i, name in enumerate(LATER[:2]):  # a new round pair on the server
            rig.write(name, (samples_dir / name).read_bytes(), mtime=BASE_MTIME + 100 + i)
        code, _, err = await statsbot(config, "once", fake=fake)
        assert code == 0, err
        new = fake.posts()[posts:]
        assert len(new) >= 2
        assert _pg(pg_database_url, "SELECT count(*) FROM rounds") == [(len(EVENING) + 2,)]
        [(top,)] = sql(db, "SELECT max(id) FROM rounds")
        assert _pg(pg_database_url, "SELECT min(id) FROM rounds WHERE filename LIKE '%etl_ice%'") == [
            (top + 1,)
        ]
        assert _pg(pg_database_url, "SELECT count(*) FROM outbox WHERE state <> 'sent'") == [(0,)]
        code, _, err = await statsbot(config, "once", fake=fake)
        assert code == 0, err
        assert len(fake.posts()) == posts + len(new)  # posted once


def _comparable(report: Any) -> Any:
    """A diagnose report without what changes between two runs (times, durations)."""
    if isinstance(report, dict):
        return {
            k: _comparable(v) for k, v in report.items() if not k.endswith(("_at", "seconds", "_s", "age"))
        }
    if isinstance(report, list):
        return [_comparable(v) for v in report]
    return report
