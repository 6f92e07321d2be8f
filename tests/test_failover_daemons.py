"""High availability with two REAL daemons: two `statsbot run` processes on one PostgreSQL database.

Both poll-capable instances start against the in-process SFTP server and the fake Discord server; one
leads, the other stands by. Stats files appear on the server over time; the leader is SIGKILLed mid-stream
(while it imports and posts). The standby must take over within two poll intervals, and at the end every
file is imported exactly once and every round and match posted exactly once, nothing lost or doubled.
The killed instance, started again, stands by while the new leader runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bench.samples import replicate
from bot.chat.embeds import footer_marker
from tests.helpers.daemon import server_values
from tests.helpers.fake_discord import ADMIN_CHANNEL, GUILD_ID, STATS_CHANNEL, FakeDiscord, Fault, running
from tests.helpers.sftp import SftpRig, sftp_rig
from tests.test_crash_posts import about

PROJECT = Path(__file__).resolve().parent.parent
FILES = 36  # real samples (a copy with its own hashes), released over ~12 s
POLL = 1.0  # poll_seconds of both instances: takeover must come within 2 of them
RETRY, HEARTBEAT = 0.25, 0.25  # [database] leader_*: takeover bound 3 × 0.25 + 0.25 = 1 s

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


def config_text(base: Path, rig: SftpRig) -> str:
    server = server_values(
        "main", rig, poll_seconds=POLL, min_file_age_seconds=1, max_parallel_downloads=2,
        full_listing_seconds=300,
    )  # fmt: skip
    lines = ["[paths]", f'data_dir = "{base / "data"}"', f'local_stats = "{base / "local_stats"}"']
    lines += ["[backup]", "enabled = false", "[log]", 'level = "INFO"', "json = true"]
    lines += ["[discord]", 'posts = "all"']
    lines += ["[database]", f"leader_retry_seconds = {RETRY}", f"leader_heartbeat_seconds = {HEARTBEAT}"]
    lines += ["[[servers]]"]
    for key, value in server.items():
        lines.append(f"{key} = {value}" if isinstance(value, int | float) else f'{key} = "{value}"')
    return "\n".join(lines) + "\n"


def events_in(log: Path, name: str) -> list[dict[str, Any]]:
    """The JSON log lines of event `name` in a daemon's stderr (other lines skipped)."""
    out = []
    for line in log.read_text().splitlines() if log.exists() else []:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("event") == name:
            out.append(record)
    return out


class Instance:
    """One host: its own config, data folder and log; the database URL and name come from the env."""

    def __init__(self, name: str, base: Path, rig: SftpRig, url: str, fake: FakeDiscord) -> None:
        self.name = name
        self.base = base / name
        self.base.mkdir(parents=True, exist_ok=True)
        self.config = self.base / "statsbot.toml"
        self.config.write_text(config_text(self.base, rig))
        self.log = self.base / "log.jsonl"
        self.env = dict(os.environ)
        self.env |= {
            "STATSBOT_DATABASE__URL": url,
            "STATSBOT_DATABASE__INSTANCE": name,
            "FAKE_DISCORD_BASE": f"http://127.0.0.1:{fake.port}/api/v10",
            "STATSBOT_DISCORD__TOKEN": "fake-token",
            "STATSBOT_DISCORD__GUILD_ID": str(GUILD_ID),
            "STATSBOT_DISCORD__STATS_CHANNEL_ID": str(STATS_CHANNEL),
            "STATSBOT_DISCORD__ADMIN_CHANNEL_ID": str(ADMIN_CHANNEL),
        }
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("a") as err:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.helpers.fake_discord_child", "--config", str(self.config), "run",
                cwd=PROJECT, env=self.env, stdout=asyncio.subprocess.DEVNULL, stderr=err,
            )  # fmt: skip

    def events(self, name: str) -> list[dict[str, Any]]:
        return events_in(self.log, name)

    def roles(self) -> list[str]:
        return [str(r["role"]) for r in self.events("role_changed")]

    async def command(self, *args: str) -> tuple[int, str]:
        """A CLI command with this instance's config and environment (an operator on this host)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--config", str(self.config), *args,
            cwd=PROJECT, env=self.env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        return int(proc.returncode or 0), out.decode()

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc is not None and self.proc.returncode is not None else 0
        self.proc.send_signal(sig)
        return await asyncio.wait_for(self.proc.wait(), 60)


async def until(what: Any, timeout: float, message: str) -> float:
    """Seconds until `what()` is true (polled every 50 ms); fails the test past `timeout`."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not what():
        if loop.time() - start > timeout:
            pytest.fail(message)
        await asyncio.sleep(0.05)
    return loop.time() - start


def counts(url: str) -> tuple[int, int]:
    """(files imported, posts not sent yet)."""
    with psycopg.connect(url, autocommit=True) as conn:
        imported = conn.execute("SELECT count(*) FROM processed_files WHERE state = 'imported'").fetchone()
        pending = conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()
    return int(imported[0] if imported else 0), int(pending[0] if pending else 0)


async def release(rig: SftpRig, files: list[tuple[str, bytes]], pause: float) -> None:
    for name, data in files:
        rig.write(name, data)
        await asyncio.sleep(pause)


async def test_sigkilled_leader_is_replaced_within_two_polls_and_nothing_is_doubled_or_lost(
    tmp_path: Path, pg_database_url: str
) -> None:
    files = sorted(replicate(FILES))
    names = {name for name, _ in files}
    url = pg_database_url
    async with running() as fake, sftp_rig(tmp_path / "sftp") as rig:
        a = Instance("alpha", tmp_path, rig, url, fake)
        b = Instance("beta", tmp_path, rig, url, fake)
        try:
            await a.start()
            await until(lambda: "leader" in a.roles(), 60, "alpha never became the leader")
            await b.start()
            await until(lambda: "standby" in b.roles(), 60, "beta never reported standby")
            writer = asyncio.create_task(release(rig, files, 12.0 / FILES))
            # Mid-stream: the leader has imported some files and has more coming.
            await until(lambda: counts(url)[0] >= 6, 60, "alpha imported nothing")
            assert "leader" not in b.roles()  # the standby neither led nor polled meanwhile
            assert b.events("cycle_decisions") == []
            assert b.events("file_processed") == []
            # Mid-send: Discord has stored alpha's next post and not answered yet when alpha dies.
            fake.faults.append(Fault(stall=30))
            await until(lambda: bool(fake.stalled), 60, "alpha posted nothing more")
            assert a.proc is not None
            a.proc.send_signal(signal.SIGKILL)
            await a.proc.wait()
            took = await until(lambda: "leader" in b.roles(), 30, "beta never took over")
            assert took <= 2 * POLL, f"takeover took {took:.2f} s, more than two poll intervals"
            await writer
            # The killed instance comes back: it stands by while beta leads.
            await a.start()
            await until(lambda: a.roles().count("standby") >= 2, 60, "alpha did not stand by on restart")
            await until(lambda: counts(url) == (len(names), 0), 90, f"not all imported/posted: {counts(url)}")
            assert a.roles()[-1] == "standby"
            code, health = await a.command("health")
            assert "standby (leader: beta)" in health, health
            assert code == 0, health
            code, health = await b.command("health")
            assert "leader (beta)" in health, health
            assert code == 0, health
            assert await b.stop() == 0
            # beta's shutdown released the lock: alpha leads within a retry, without a restart.
            await until(lambda: a.roles()[-1] == "leader", 10, "alpha did not take over after beta stopped")
            assert await a.stop() == 0
        finally:
            for instance in (a, b):
                if instance.proc is not None and instance.proc.returncode is None:
                    instance.proc.kill()
                    await instance.proc.wait()
        messages = list(fake.visible(STATS_CHANNEL))
        in_flight = fake.stalled[0]

    with psycopg.connect(url, autocommit=True) as conn:
        states = conn.execute("SELECT filename, state FROM processed_files WHERE server = 'main'").fetchall()
        events = conn.execute(
            "SELECT filename, count(*) FROM file_events WHERE event = 'imported' GROUP BY filename"
        ).fetchall()
        rounds = conn.execute("SELECT filename, status FROM rounds WHERE server = 'main'").fetchall()
        rows = conn.execute(
            "SELECT id, kind, dedupe_key, subject, nonce, state FROM outbox"
            " WHERE channel = 'stats' ORDER BY id"
        ).fetchall()
        matches = conn.execute(
            "SELECT r.filename FROM matches m JOIN rounds r ON r.id = m.r2_round_id WHERE m.server = 'main'"
        ).fetchall()
    assert {str(f): str(s) for f, s in states} == dict.fromkeys(names, "imported")
    assert {str(f): int(n) for f, n in events} == dict.fromkeys(names, 1)  # each imported exactly once
    assert sorted(str(r[0]) for r in rounds) == sorted(names)
    assert {str(r[5]) for r in rows} == {"sent"}
    by_nonce = {str(r[4]): r for r in rows}
    shown = [by_nonce.get(str(footer_marker(m["embeds"][0]["footer"]["text"]))) for m in messages]
    assert None not in shown, "a message the outbox does not know"
    per_subject = Counter(about(str(r[1]), str(r[2]), r[3]) for r in shown if r is not None)
    assert {s: n for s, n in per_subject.items() if n > 1} == {}, "posted more than once"
    # The post alpha was sending when it died: beta sent it again with its nonce, Discord deduped it.
    assert sum(1 for m in messages if m["id"] == in_flight["id"]) == 1
    assert sum(1 for m in messages if m.get("nonce") == in_flight.get("nonce")) == 1
    posted_rounds = {s for s in per_subject if s.startswith("round:")}
    assert posted_rounds == {f"round:main:{f}" for f, status in rounds if status != "pending_r1"}
    assert {s for s in per_subject if s.startswith("match:")} == {f"match:main:{r[0]}" for r in matches}
