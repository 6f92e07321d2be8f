"""History: files already on a server when statsbot first lists it are imported without posts, and
ONE admin summary says so (`[discord] post_history = false`, the default). Real `statsbot` processes
against the in-process SFTP server, posts printed by the console sink."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from bench.samples import real_samples, replicate
from tests.helpers.daemon import server_values
from tests.helpers.sftp import SftpRig, sftp_rig
from tests.test_crash import PROJECT, config_text
from tests.test_forget import statsbot

pytestmark = [pytest.mark.timeout(120), pytest.mark.history_default]

STATS_POST = "── [stats] post "
SUMMARY = re.compile(
    r"Imported (\d+) rounds of history from (\w+) \((\d{4}-\d\d-\d\d) → (\d{4}-\d\d-\d\d)\); "
    r"new rounds are posted from now on\."
)


def setup(tmp_path: Path, *rigs: tuple[str, SftpRig], extra: str = "") -> Path:
    config = tmp_path / "statsbot.toml"
    [(name, rig), *more] = rigs
    text = config_text(tmp_path, server_values(name, rig, min_file_age_seconds=0))
    for other, other_rig in more:
        text += "[[servers]]\n" + "\n".join(
            f"{k} = {v}" if isinstance(v, int | float) else f'{k} = "{v}"'
            for k, v in server_values(other, other_rig, min_file_age_seconds=0).items()
        )
    config.write_text(text.replace('posts = "all"', f'posts = "all"\n{extra}') + "\n")
    return config


def posts_of(stdout: str, kind: str) -> int:
    return len(re.findall(rf"── \[stats\] post \d+ · {kind}\n", stdout))


def summaries(stdout: str) -> list[tuple[str, ...]]:
    return [m.groups() for m in SUMMARY.finditer(stdout)]


def rounds(tmp_path: Path, server: str = "main") -> int:
    with sqlite3.connect(tmp_path / "data" / "statsbot.db") as conn:
        return int(conn.execute("SELECT count(*) FROM rounds WHERE server = ?", (server,)).fetchone()[0])


def split() -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """(history, later): the real samples up to the last evening, and that evening's files."""
    files = sorted(real_samples())
    last_day = files[-1][0][:10]
    return [f for f in files if f[0][:10] != last_day], [f for f in files if f[0][:10] == last_day]


async def test_history_is_imported_quietly_with_one_summary_then_new_files_post(tmp_path: Path) -> None:
    history, later = split()
    async with sftp_rig(tmp_path / "sftp") as rig:
        config = setup(tmp_path, ("main", rig))
        for name, data in history:
            rig.write(name, data)
        code, out, err = await statsbot(config, "once")
        assert code == 0, err
        assert rounds(tmp_path) == len(history)  # all imported ...
        assert out.count(STATS_POST) == 0, out  # ... not one round, match or session posted
        assert out.count("── [admin]") == 1, out
        [(n, server, first, last)] = summaries(out)
        assert (int(n), server) == (len(history), "main")
        assert (first, last) == (history[0][0][:10], history[-1][0][:10])

        code, out, err = await statsbot(config, "once")  # nothing new: no second summary
        assert (code, out.count("── [")) == (0, 0), out

        for name, data in later:  # played after the first listing: posted as always
            rig.write(name, data)
        code, out, err = await statsbot(config, "once")
        assert code == 0, err
        assert rounds(tmp_path) == len(history) + len(later)
        assert posts_of(out, "round") >= len([n for n, _ in later if n.endswith("round-1.txt")]), out
        assert summaries(out) == [], out


async def test_post_history_true_posts_everything_as_before(tmp_path: Path) -> None:
    history, _ = split()
    async with sftp_rig(tmp_path / "sftp") as rig:
        config = setup(tmp_path, ("main", rig), extra="post_history = true")
        for name, data in history:
            rig.write(name, data)
        code, out, err = await statsbot(config, "once")
    assert code == 0, err
    assert rounds(tmp_path) == len(history)
    assert posts_of(out, "round") >= len(history) // 2, out  # every round 1, every paired round 2
    assert posts_of(out, "match") > 0, out
    assert summaries(out) == [], out


async def test_a_server_added_later_gets_its_own_history_quietly(tmp_path: Path) -> None:
    history, later = split()
    async with sftp_rig(tmp_path / "a") as rig_a, sftp_rig(tmp_path / "b") as rig_b:
        for name, data in history[:8]:
            rig_a.write(name, data)
        config = setup(tmp_path, ("main", rig_a))
        code, out, err = await statsbot(config, "once")
        assert (code, out.count(STATS_POST), len(summaries(out))) == (0, 0, 1), out

        for name, data in history[8:]:  # the second server's years of files, already there
            rig_b.write(name, data)
        for name, data in later:  # and a new evening on the first server
            rig_a.write(name, data)
        config = setup(tmp_path, ("main", rig_a), ("second", rig_b))
        code, out, err = await statsbot(config, "once")
    assert code == 0, err
    assert rounds(tmp_path, "second") == len(history) - 8
    [(n, server, _, _)] = summaries(out)
    assert (int(n), server) == (len(history) - 8, "second")
    # Only main's new evening is posted: every stats post names one of its files or its session.
    later_names = {n for n, _ in later}
    posted = re.findall(r"\d{4}-\d\d-\d\d-\d{6}-[\w-]+\.txt", out)
    assert out.count(STATS_POST) > 0
    assert not [p for p in posted if p not in later_names and p not in dict(history[:8])], out


async def test_sync_on_a_new_install_is_quiet_too(tmp_path: Path) -> None:
    history, later = split()
    async with sftp_rig(tmp_path / "sftp") as rig:
        config = setup(tmp_path, ("main", rig))
        for name, data in history:
            rig.write(name, data)
        code, out, err = await statsbot(config, "sync")
        assert code == 0, err
        assert rounds(tmp_path) == len(history)
        code, out, err = await statsbot(config, "once")  # the daemon sends what sync queued
        assert (code, out.count(STATS_POST), len(summaries(out))) == (0, 0, 1), out
        for name, data in later:
            rig.write(name, data)
        code, out, err = await statsbot(config, "once")
    assert code == 0, err
    assert out.count(STATS_POST) > 0, out
    assert summaries(out) == [], out


async def test_sigkill_in_the_middle_of_the_history_stays_quiet_and_summarises_once(
    tmp_path: Path,
) -> None:
    files = list(replicate(100))
    db = tmp_path / "data" / "statsbot.db"
    async with sftp_rig(tmp_path / "sftp") as rig:
        config = setup(tmp_path, ("main", rig))
        for name, data in files:
            rig.write(name, data)
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--config", str(config), "run",
            cwd=PROJECT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        try:
            for _ in range(1200):
                await asyncio.sleep(0.02)
                with contextlib.suppress(sqlite3.OperationalError):  # not migrated yet, or busy
                    if db.exists() and rounds(tmp_path) >= 5:
                        break
            else:
                pytest.fail("the daemon never imported 5 rounds")
        finally:
            child.send_signal(signal.SIGKILL)
        first_out, _ = await child.communicate()
        killed_at = rounds(tmp_path)
        assert 0 < killed_at < len(files), "the kill must land in the middle of the history import"
        code, out, err = await statsbot(config, "once")
    assert code == 0, err
    assert rounds(tmp_path) == len(files)
    both = first_out.decode() + out
    assert both.count(STATS_POST) == 0, both
    [(n, server, _, _)] = summaries(both)
    assert (int(n), server) == (len(files), "main")


async def test_empty_database_beside_downloaded_files_is_still_refused(tmp_path: Path) -> None:
    history, _ = split()
    async with sftp_rig(tmp_path / "sftp") as rig:
        config = setup(tmp_path, ("main", rig))
        for name, data in history[:3]:
            rig.write(name, data)
        code, out, err = await statsbot(config, "once")
        assert (code, out.count(STATS_POST), len(summaries(out))) == (0, 0, 1), err
        (tmp_path / "data" / "statsbot.db").unlink()
        (tmp_path / "data" / "statsbot.watermark").unlink()
        code, out, err = await statsbot(config, "once")
    assert (code, out.count("── [")) == (1, 0), err
    assert "3 downloaded stats file(s)" in err, err
