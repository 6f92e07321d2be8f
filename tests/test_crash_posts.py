"""SIGKILL campaign against the real daemon: every round imported once, and every round posted once.

A real `statsbot run` child process polls the in-process SFTP server while a "game server" task releases
stats files over time, in time order except that now and then a round 1 comes late (after its round 2
and the next round 1). The child posts to the fake Discord REST server (real discord.py over HTTP), or
to the console (its stdout), and is SIGKILLed at random moments, then restarted; a last run finishes
the work and stops cleanly. Each sink on each engine (SQLite file, PostgreSQL schema).

Afterwards each file is imported exactly once, and no round or match is posted twice: on Discord exactly
one message each, showing its latest version (a round 2 posted before its round 1 was there, as an
orphan, is corrected by an edit of its message, never by a second one); on the console no post printed
twice, and a correction printed as one, marked, after the post it corrects (the console may lose a print
in the kill window, never repeat one). Before the fix 3 of 3 Discord runs failed with one to three round
2s posted twice; after it 1-2 corrections per run.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import sys
from collections import Counter
from pathlib import Path
from typing import TextIO

import psycopg
import pytest

from bench.samples import replicate
from bot.chat.embeds import footer_marker
from bot.db.connection import Database
from tests.helpers import pg
from tests.helpers.daemon import server_values
from tests.helpers.engines import NewStore
from tests.helpers.fake_discord import ADMIN_CHANNEL, GUILD_ID, STATS_CHANNEL, FakeDiscord, running
from tests.helpers.sftp import SftpRig, sftp_rig
from tests.test_crash import config_text, store_of

PROJECT = Path(__file__).resolve().parent.parent
FILES = 61  # the real samples (as a copy with its own content hashes), released over ~25 s
LATE_ROUND1 = 0.4
PAUSES = (0.05, 0.2, 0.5)
KILLS = 6
SEED = 20261207

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]


def daemon_config(base: Path, rig: SftpRig, database: Path | str | None = None) -> str:
    values = server_values(
        "main",
        rig,
        poll_seconds=1,
        min_file_age_seconds=1,
        max_parallel_downloads=2,
        full_listing_seconds=300,
    )
    return config_text(base, values, database)  # [discord] posts = "all": round posts too


async def spawn(config: Path, fake: FakeDiscord | None, stdout: TextIO) -> asyncio.subprocess.Process:
    """The daemon; with `fake`, posting to it (else to the console: `stdout`, appended run after run)."""
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
        sys.executable, "-m", module, "--config", str(config), "run",
        cwd=PROJECT, env=env, stdout=stdout, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


def schedule(files: list[tuple[str, bytes]], rng: random.Random) -> list[tuple[str, bytes, float]]:
    """Files in time order, each with the pause before it; now and then a round 1 comes late, after the
    next two files (its round 2 among them) and a pause of up to five poll intervals (DESIGN: "a late R1")."""
    out: list[tuple[str, bytes, float]] = []
    i = 0
    while i < len(files):
        name, data = files[i]
        if "-round-1" in name and i + 2 < len(files) and rng.random() < LATE_ROUND1:
            out += [(*files[i + 1], rng.choice(PAUSES)), (*files[i + 2], rng.choice(PAUSES))]
            out.append((name, data, rng.uniform(1.0, 5.0)))
            i += 3
        else:
            out.append((name, data, rng.choice(PAUSES)))
            i += 1
    return out


async def release(rig: SftpRig, plan: list[tuple[str, bytes, float]], done: asyncio.Event) -> None:
    """The game server writes the files over time."""
    for name, data, pause in plan:
        await asyncio.sleep(pause)
        rig.write(name, data)
    done.set()


PROGRESS_SQL = (
    "SELECT (SELECT count(*) FROM processed_files WHERE state = 'imported'), "
    "(SELECT count(*) FROM outbox WHERE state = 'pending')"
)


def progress(db_path: Path | str) -> tuple[int, int]:
    """(files imported, posts not delivered yet), read without disturbing the running daemon."""
    if isinstance(db_path, str):  # PostgreSQL: a reader beside the writer
        try:
            with pg.connect(db_path) as pconn:
                row = pconn.execute(PROGRESS_SQL.encode()).fetchone()
        except psycopg.Error:
            return 0, -1
        return (0, -1) if row is None else (int(row[0]), int(row[1]))
    if not db_path.exists():
        return 0, -1
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
        try:
            imported, pending = conn.execute(PROGRESS_SQL).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return 0, -1
    return int(imported), int(pending)


def about(kind: str, dedupe_key: str, subject: str | None) -> str:
    """What a post is about: one message each (a round's file, a match's round 2, else its own key)."""
    if subject is not None:
        return subject
    parts = dedupe_key.split(":")
    if kind == "round":
        return ":".join(parts[:3])
    if kind == "match":
        return f"match:{parts[1]}:{parts[3]}"
    return dedupe_key


@pytest.mark.parametrize("sink", ["discord", "console"])
async def test_sigkilled_daemon_imports_and_posts_every_round_exactly_once(
    tmp_path: Path, sink: str, new_store: NewStore
) -> None:
    rng = random.Random(SEED)
    files = sorted(replicate(FILES))
    names = {name for name, _ in files}
    database = new_store()
    db_path = store_of(tmp_path, database)
    loop = asyncio.get_running_loop()
    console = tmp_path / "console.txt"
    async with running() as fake_server, sftp_rig(tmp_path / "sftp") as rig:
        fake = fake_server if sink == "discord" else None
        config = tmp_path / "statsbot.toml"
        config.write_text(daemon_config(tmp_path, rig, database))
        released = asyncio.Event()
        writer = asyncio.create_task(release(rig, schedule(files, rng), released))
        kills = 0
        try:
            while kills < KILLS:
                with console.open("a") as out:
                    child = await spawn(config, fake, out)
                try:
                    await asyncio.wait_for(child.wait(), rng.uniform(3.0, 6.0))
                except TimeoutError:
                    child.send_signal(signal.SIGKILL)
                    await child.wait()
                    kills += 1
                else:
                    err = await child.stderr.read() if child.stderr else b""
                    pytest.fail(f"the daemon exited by itself ({child.returncode}): {err.decode()[-3000:]}")
            await released.wait()
            with console.open("a") as out:
                child = await spawn(config, fake, out)
            deadline = loop.time() + 60
            while progress(db_path) != (len(names), 0) and loop.time() < deadline:
                await asyncio.sleep(0.5)
            child.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(child.communicate(), 40)
            assert child.returncode == 0, err.decode()[-3000:]
        finally:
            writer.cancel()
        messages = list(fake_server.visible(STATS_CHANNEL))

    async with await Database.open(db_path) as db:
        assert await db.integrity_check() == ["ok"]
        # every file imported, each exactly once
        states = await db.fetchall("SELECT filename, state FROM processed_files WHERE server = 'main'")
        assert {str(f): str(s) for f, s in states} == dict.fromkeys(names, "imported")
        rounds = await db.fetchall("SELECT filename, status FROM rounds WHERE server = 'main'")
        assert sorted(str(r[0]) for r in rounds) == sorted(names)
        events = await db.fetchall(
            "SELECT filename, count(*) FROM file_events WHERE event = 'imported' GROUP BY filename"
        )
        assert {str(f): int(n) for f, n in events} == dict.fromkeys(names, 1)
        rows = await db.fetchall(
            "SELECT id, kind, dedupe_key, subject, nonce, state, corrects FROM outbox "
            "WHERE channel = 'stats' ORDER BY id"
        )
        matches = await db.fetchall(
            "SELECT r.filename FROM matches m JOIN rounds r ON r.id = m.r2_round_id WHERE m.server = 'main'"
        )
    assert {str(r[5]) for r in rows} == {"sent"}
    latest: dict[str, int] = {}  # subject → id of its newest post (the version its message must show)
    for r in rows:
        latest[about(str(r[1]), str(r[2]), r[3])] = int(r[0])
    if sink == "discord":
        by_nonce: dict[str, int] = {str(r[4]): int(r[0]) for r in rows}
        shown = [by_nonce.get(str(footer_marker(m["embeds"][0]["footer"]["text"]))) for m in messages]
        corrections: list[int] = []
    else:  # a terminal cannot edit: each post is printed once, a correction as a marked one
        heads = [line for line in console.read_text().splitlines() if line.startswith("── [stats] post ")]
        printed = [int(line.split()[3]) for line in heads]
        assert [n for n, k in Counter(printed).items() if k > 1] == []  # nothing printed twice
        # (Not "everything printed": the console journal records a post before printing it, so a kill in
        # between loses that print rather than ever printing it twice: bot/chat/console.py.)
        assert set(printed) <= {int(r[0]) for r in rows}
        shown = [int(line.split()[3]) for line in heads if "CORRECTION" not in line]
        corrections = [int(line.split()[3]) for line in heads if "CORRECTION" in line]
    by_id = {int(r[0]): r for r in rows}
    assert None not in shown, "a message the outbox does not know"
    per_subject: Counter[str] = Counter()
    for post_id in shown:
        assert post_id is not None
        row = by_id[post_id]
        per_subject[about(str(row[1]), str(row[2]), row[3])] += 1
    repeated = {s: n for s, n in per_subject.items() if n > 1}
    assert repeated == {}, f"posted more than once: {repeated}"
    if sink == "discord":  # one message per subject, showing its latest version
        newest = {about(str(by_id[i][1]), str(by_id[i][2]), by_id[i][3]): i for i in shown if i is not None}
        assert newest == latest
    else:  # each correction is printed (marked) after the post it corrects
        order = {post_id: i for i, post_id in enumerate(printed)}
        assert all(order.get(int(by_id[c][6]), -1) < order[c] for c in corrections)
    if sink == "discord":  # and every round and match was posted
        posted_rounds = {s for s in per_subject if s.startswith("round:")}
        assert posted_rounds == {f"round:main:{f}" for f, status in rounds if status != "pending_r1"}
        assert {s for s in per_subject if s.startswith("match:")} == {f"match:main:{r[0]}" for r in matches}
    assert kills == KILLS
