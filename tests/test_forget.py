"""Never forget silently (issue 10.1), with real `statsbot` processes against the in-process SFTP server.

An emptied database, an older backup put back, or a SIGKILL followed by a deleted `-wal` must be
refused at start (exit 1, saying what was lost and how to go on), never taken for a new install that
imports and posts every round again. `--accept-data-loss` imports again without posting.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bench.samples import real_samples
from tests.helpers import pg
from tests.helpers.daemon import server_values
from tests.helpers.sftp import SftpRig, sftp_rig
from tests.test_crash import PROJECT, config_text

pytestmark = pytest.mark.timeout(120)

ROUND_POST = "── [stats] post "


def round_ones() -> list[tuple[str, bytes]]:
    # Round 1 files only: each is posted once at import (a lone round 2 waits for its round 1).
    return sorted((n, d) for n, d in real_samples() if n.endswith("round-1.txt"))


async def statsbot(config: Path, *args: str) -> tuple[int, str, str]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "--config", str(config), *args,
        cwd=PROJECT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


def setup(tmp_path: Path, rig: SftpRig, **overrides: object) -> Path:
    config = tmp_path / "statsbot.toml"
    values = server_values("main", rig, min_file_age_seconds=0, **overrides)
    config.write_text(config_text(tmp_path, values))
    return config


def posts(stdout: str) -> int:
    return stdout.count(ROUND_POST)


async def test_emptied_or_restored_database_is_refused_until_accepted_and_never_reposts(
    tmp_path: Path,
) -> None:
    files = round_ones()
    db = tmp_path / "data" / "statsbot.db"
    async with sftp_rig(tmp_path / "sftp") as rig:
        config = setup(tmp_path, rig)
        for name, data in files[:4]:
            rig.write(name, data)
        code, out, err = await statsbot(config, "once")
        assert code == 0, err
        assert posts(out) == 4
        code, out, err = await statsbot(config, "db", "backup")
        assert code == 0, err
        [backup] = list((tmp_path / "data" / "backups").glob("statsbot-*.db"))
        for name, data in files[4:6]:
            rig.write(name, data)
        code, out, err = await statsbot(config, "once")
        assert (code, posts(out)) == (0, 2), err

        db.write_bytes(b"")  # emptied while stopped
        code, out, err = await statsbot(config, "once")
        assert code == 1
        assert posts(out) == 0
        assert "EMPTY" in err, err
        assert "6 round(s)" in err, err
        assert backup.name in err, err
        assert "--accept-data-loss" in err, err

        shutil.copyfile(backup, db)  # the newest backup put back: behind the record by 2 rounds
        code, out, err = await statsbot(config, "once")
        assert (code, posts(out)) == (1, 0), out
        assert "BEHIND" in err, err
        assert "4 round(s)" in err, err

        code, out, err = await statsbot(config, "once", "--accept-data-loss")
        assert code == 0, err
        assert posts(out) == 0  # the 2 rounds the backup lacked: imported again, not posted again

        rig.write(*files[6])  # a new round after the recovery is posted as usual
        code, out, err = await statsbot(config, "once")
        assert (code, posts(out)) == (0, 1), err
    record = json.loads((tmp_path / "data" / "statsbot.watermark").read_text())
    assert record["marks"]["rounds"] == 7


async def test_empty_database_beside_downloaded_files_is_refused(tmp_path: Path) -> None:
    files = round_ones()
    async with sftp_rig(tmp_path / "sftp") as rig:
        config = setup(tmp_path, rig)
        for name, data in files[:3]:
            rig.write(name, data)
        code, out, err = await statsbot(config, "once")
        assert (code, posts(out)) == (0, 3), err
        # The whole data_dir is gone (database AND record); local_stats/ still shows what was imported.
        shutil.rmtree(tmp_path / "data")
        code, out, err = await statsbot(config, "once")
        assert (code, posts(out)) == (1, 0), err
        assert "3 downloaded stats file(s)" in err, err
        code, out, err = await statsbot(config, "once", "--accept-data-loss")
        assert (code, posts(out)) == (0, 0), err


async def test_sigkill_then_deleted_wal_is_refused(tmp_path: Path) -> None:
    files = round_ones()
    data_dir = tmp_path / "data"
    async with sftp_rig(tmp_path / "sftp") as rig:
        config = setup(tmp_path, rig)
        for name, data in files[:5]:
            rig.write(name, data)
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--config", str(config), "run",
            cwd=PROJECT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        record = data_dir / "statsbot.watermark"
        try:
            for _ in range(300):  # the record follows the commits within a second
                await asyncio.sleep(0.1)
                if record.exists() and json.loads(record.read_text())["marks"]["sent_max"] >= 5:
                    break
            else:
                pytest.fail("the daemon never recorded its 5 posts")
        finally:
            child.send_signal(signal.SIGKILL)
            await child.wait()
        assert (data_dir / "statsbot.db-wal").exists()
        (data_dir / "statsbot.db-wal").unlink()
        (data_dir / "statsbot.db-shm").unlink(missing_ok=True)
        code, out, err = await statsbot(config, "once")
    assert (code, posts(out)) == (1, 0), err
    assert "statsbot refuses" in err, err
    assert "--accept-data-loss" in err, err


async def test_readers_say_an_emptied_database_is_refused_instead_of_advising_sync(tmp_path: Path) -> None:
    files = round_ones()
    async with sftp_rig(tmp_path / "sftp") as rig:
        config = setup(tmp_path, rig)
        for name, data in files[:3]:
            rig.write(name, data)
        code, out, err = await statsbot(config, "once")
        assert (code, posts(out)) == (0, 3), err
        code, out, err = await statsbot(config, "health")
        assert code == 0, out + err
        assert "refused" not in out
        (tmp_path / "data" / "statsbot.db").write_bytes(b"")  # emptied while stopped

        # quick_check passes on the empty file; the record does not: health (the Docker HEALTHCHECK)
        # and diagnose say the database is refused, instead of "healthy" or "`statsbot sync` imports them".
        code, out, err = await statsbot(config, "health")
        assert code == 1, out + err
        assert "BAD  database record        refused at start:" in out, out
        assert "is EMPTY" in out, out
        code, out, err = await statsbot(config, "diagnose")
        assert code == 1, out + err
        assert "! DATABASE REFUSED" in out, out
        assert "sync --accept-data-loss" in out, out
        code, out, err = await statsbot(config, "diagnose", "--json")
        assert code == 1, out + err
        assert "is EMPTY" in json.loads(out)["refused"]

        code, out, err = await statsbot(config, "sync", "--accept-data-loss")
        assert code == 0, out + err
        code, out, err = await statsbot(config, "diagnose")
        assert code == 0, out + err
        assert "REFUSED" not in out, out


async def test_a_backup_from_before_the_upgrade_is_named_so_not_another_database(tmp_path: Path) -> None:
    files = round_ones()
    db = tmp_path / "data" / "statsbot.db"
    async with sftp_rig(tmp_path / "sftp") as rig:
        config = setup(tmp_path, rig)
        for name, data in files[:2]:
            rig.write(name, data)
        code, out, err = await statsbot(config, "once")
        assert (code, posts(out)) == (0, 2), err
        # The backup an operator took before upgrading (upgrade step 1) holds one round.
        old = tmp_path / "pre-upgrade.db"
        shutil.copyfile(db, old)
        conn = sqlite3.connect(old)
        conn.executescript(
            "DELETE FROM outbox WHERE id > 1; DELETE FROM processed_files WHERE round_id > 1; "
            "PRAGMA foreign_keys = ON; DELETE FROM rounds WHERE id > 1;"
        )
        conn.close()
        rig.write(*files[2])
        code, out, err = await statsbot(config, "once")
        assert (code, posts(out)) == (0, 1), err

        # Put back as §2 says ("restore the backup taken in step 1"). It had no instance id: migration
        # 0004 gives it a new one at this first start, i.e. after the record was written (the state made
        # here by hand, since the later migrations cannot be undone to run 0004 again).
        conn = sqlite3.connect(old)
        conn.execute(
            "UPDATE instance SET instance_id = lower(hex(randomblob(16))), created_at = ?", (time.time(),)
        )
        conn.commit()
        conn.close()
        shutil.copyfile(old, db)
        code, out, err = await statsbot(config, "once")
        assert (code, posts(out)) == (1, 0), err
        assert "made by a statsbot version before the record" in err, err
        assert "another database" not in err, err
        code, out, err = await statsbot(config, "once", "--accept-data-loss")
        assert (code, posts(out)) == (0, 0), err  # the two rounds it lacked: imported, not posted again


# --- PostgreSQL: the same refusals and the same way on, with real processes -----------------------


def recreate(url: str) -> None:
    """DROP DATABASE and CREATE it again under the same name (emptied, as a wrong restore leaves it)."""
    name = urlsplit(url).path.lstrip("/")
    pg.drop_database(pg.admin_url(), name)
    pg.create_database(pg.admin_url(), name)


def pg_setup(base: Path, rig: SftpRig) -> Path:
    """One host's config: its own data_dir and local_stats; the database URL comes from the environment."""
    base.mkdir(parents=True, exist_ok=True)
    config = base / "statsbot.toml"
    config.write_text(config_text(base, server_values("main", rig, min_file_age_seconds=0)))
    return config


def pg_record(base: Path) -> dict[str, Any]:
    [record] = (base / "data").glob("statsbot-postgresql-*.watermark")
    data: dict[str, Any] = json.loads(record.read_text())
    return data


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_postgresql_emptied_or_restored_is_refused_on_both_hosts_until_accepted_and_never_reposts(
    tmp_path: Path, pg_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two hosts (two data dirs, two records) on one PostgreSQL database; the database is dropped, then
    an older pg_dump restored into it: both hosts refuse it, each until it accepts; nothing is posted
    twice."""
    files = round_ones()
    url = pg_database_url.replace("postgresql://postgres@", "postgresql://postgres:s3cret@", 1)  # trust
    monkeypatch.setenv("STATSBOT_DATABASE__URL", url)  # the password: in the environment, never the file
    async with sftp_rig(tmp_path / "sftp") as rig:
        a, b = pg_setup(tmp_path / "a", rig), pg_setup(tmp_path / "b", rig)
        for name, data in files[:4]:
            rig.write(name, data)
        code, out, err = await statsbot(a, "once")
        assert (code, posts(out)) == (0, 4), err
        code, out, err = await statsbot(a, "db", "backup")
        assert code == 0, err
        [dump] = list((tmp_path / "a" / "data" / "backups").glob("statsbot-*.dump"))
        for name, data in files[4:6]:
            rig.write(name, data)
        code, out, err = await statsbot(a, "once")
        assert (code, posts(out)) == (0, 2), err
        code, out, err = await statsbot(b, "once")  # the other host: nothing new, its first record
        assert (code, posts(out)) == (0, 0), err
        assert pg_record(tmp_path / "a")["marks"]["rounds"] == 6
        assert pg_record(tmp_path / "b")["marks"]["rounds"] == 6

        recreate(url)  # dropped and created again: empty
        for host in (a, b):
            code, out, err = await statsbot(host, "once")
            assert (code, posts(out)) == (1, 0), err
            assert "is EMPTY" in err, err
            assert "6 round(s)" in err, err
            assert "postgres:***@127.0.0.1" in err, err
            assert "s3cret" not in err + out
            assert "--accept-data-loss" in err, err
        code, out, err = await statsbot(a, "once")
        assert dump.name in err, err  # the newest backup, by name
        code, out, err = await statsbot(a, "health")
        assert code == 1, out + err
        assert "refused at start:" in out, out
        code, out, err = await statsbot(a, "diagnose")
        assert code == 1, out + err
        assert "! DATABASE REFUSED" in out, out

        recreate(url)  # the older dump put back into the same database: BEHIND by 2 rounds
        restore = await asyncio.create_subprocess_exec(
            "pg_restore", "--no-owner", "--dbname", pg_database_url, str(dump),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, restore_err = await restore.communicate()
        assert restore.returncode == 0, restore_err.decode()
        for host in (a, b):
            code, out, err = await statsbot(host, "once")
            assert (code, posts(out)) == (1, 0), err
            assert "BEHIND" in err, err
            assert "4 round(s)" in err, err

        code, out, err = await statsbot(a, "once", "--accept-data-loss")
        assert (code, posts(out)) == (0, 0), err  # the 2 rounds the dump lacked: imported, not posted
        code, out, err = await statsbot(b, "once")  # b's own record still describes what was lost
        assert (code, posts(out)) == (1, 0), err
        code, out, err = await statsbot(b, "once", "--accept-data-loss")
        assert (code, posts(out)) == (0, 0), err
        rig.write(*files[6])  # a new round after the recovery is posted as usual, once
        code, out, err = await statsbot(b, "once")
        assert (code, posts(out)) == (0, 1), err
        code, out, err = await statsbot(a, "once")
        assert (code, posts(out)) == (0, 0), err
    assert pg_record(tmp_path / "a")["marks"]["rounds"] == 7
    assert pg_record(tmp_path / "b")["marks"]["rounds"] == 7
