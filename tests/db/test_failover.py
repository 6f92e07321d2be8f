"""Failover with two real processes on a real PostgreSQL: SIGKILL or freeze the leader, the follower leads.

Each process (tests/helpers/leader_child.py) writes one tick row per interval, every tick in its own
transaction under the writer lock and the leadership fence, as statsbot's imports are. The table then
shows who wrote when: the leaders' ticks must never interleave.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from tests.helpers.leader_pg import throwaway_database

PROJECT = Path(__file__).resolve().parents[2]
POLL = 1.5  # the poll interval these instances stand for: takeover must be within 2 of them
TIMING = {"tick": "0.1", "retry": str(POLL / 3), "heartbeat": "0.3", "session-timeout": "1.5"}


@pytest.fixture
def pg_url() -> Iterator[str]:
    with throwaway_database("statsbot_failover") as url, psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE ticks (id bigserial PRIMARY KEY, instance text NOT NULL, os_pid int NOT NULL,"
            " backend_pid int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
        yield url


class Child:
    def __init__(self, url: str, name: str, folder: Path) -> None:
        self.name = name
        self.out = folder / f"{name}.out"
        self.err = folder / f"{name}.err"
        args = [f"--{k}={v}" for k, v in TIMING.items()]
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.helpers.leader_child", url, name, *args],
                cwd=PROJECT,
                stdout=out,
                stderr=err,
            )

    def lines(self, word: str) -> list[str]:
        return [line for line in self.out.read_text().splitlines() if line.split(" ", 1)[0] == word]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture
def spawn(pg_url: str, tmp_path: Path) -> Iterator[Callable[[str], Child]]:
    children: list[Child] = []

    def start(name: str) -> Child:
        child = Child(pg_url, name, tmp_path)
        children.append(child)
        return child

    yield start
    for child in children:
        if child.proc.poll() is None:
            os.kill(child.proc.pid, signal.SIGCONT)  # a stopped process cannot be reaped until resumed
        child.stop()


def wait_for(what: Callable[[], bool], timeout: float, message: Callable[[], str]) -> float:
    """Seconds until `what()` held; fails the test with `message()` past `timeout`."""
    start = time.monotonic()
    while not what():
        if time.monotonic() - start > timeout:
            pytest.fail(message())
        time.sleep(0.02)
    return time.monotonic() - start


def ticks(url: str) -> list[tuple[str, int]]:
    with psycopg.connect(url) as conn:
        return [(r[0], r[1]) for r in conn.execute("SELECT instance, os_pid FROM ticks ORDER BY id")]


def count(url: str, name: str) -> int:
    return sum(1 for instance, _ in ticks(url) if instance == name)


def runs(url: str) -> list[str]:
    """The instances in commit order with repeats collapsed: ["a", "b"] = a led, then b, never mixed."""
    collapsed: list[str] = []
    for instance, _ in ticks(url):
        if not collapsed or collapsed[-1] != instance:
            collapsed.append(instance)
    return collapsed


def logs(*children: Child) -> str:
    return "\n".join(f"--- {c.name}\n{c.out.read_text()}{c.err.read_text()}" for c in children)


def start_pair(spawn: Callable[[str], Child], url: str) -> tuple[Child, Child]:
    a = spawn("a")
    wait_for(lambda: count(url, "a") >= 3, 30, lambda: "a never led:\n" + logs(a))
    b = spawn("b")
    wait_for(lambda: b.err.read_text().count("leader_waiting") == 1, 30, lambda: "b not waiting:\n" + logs(b))
    return a, b


def test_sigkill_of_the_leader_hands_over_within_two_poll_intervals(
    spawn: Callable[[str], Child], pg_url: str
) -> None:
    a, b = start_pair(spawn, pg_url)
    time.sleep(POLL)  # b keeps waiting while a leads
    assert b.lines("leader") == []
    assert count(pg_url, "b") == 0
    a.proc.send_signal(signal.SIGKILL)
    took = wait_for(lambda: b.lines("leader") != [], 2 * POLL, lambda: "no takeover:\n" + logs(a, b))
    assert took <= 2 * POLL
    wait_for(lambda: count(pg_url, "b") >= 3, 30, lambda: "b does not write:\n" + logs(b))
    assert a.proc.wait(timeout=10) == -signal.SIGKILL
    assert runs(pg_url) == ["a", "b"]
    assert {pid for name, pid in ticks(pg_url) if name == "a"} == {a.proc.pid}


def test_a_frozen_leader_is_cut_off_by_the_server_and_fenced_when_it_wakes(
    spawn: Callable[[str], Child], pg_url: str
) -> None:
    a, b = start_pair(spawn, pg_url)
    a.proc.send_signal(signal.SIGSTOP)  # a hung process: its sockets stay open, it says nothing
    session_timeout = float(TIMING["session-timeout"])
    took = wait_for(
        lambda: b.lines("leader") != [],
        session_timeout + float(TIMING["retry"]) + POLL,
        lambda: "no takeover:\n" + logs(a, b),
    )
    assert took >= session_timeout * 0.9, "the lock outlives a frozen leader's last heartbeat a while"
    wait_for(lambda: count(pg_url, "b") >= 3, 30, lambda: "b does not write:\n" + logs(b))
    a.proc.send_signal(signal.SIGCONT)
    wait_for(
        lambda: a.lines("fenced") != [] or a.lines("lost") != [],
        10,
        lambda: "a never noticed:\n" + logs(a, b),
    )
    time.sleep(1.0)  # a would write its next ticks now, were it not stopped
    b.proc.send_signal(signal.SIGKILL)
    wait_for(lambda: len(a.lines("leader")) == 2, 2 * POLL, lambda: "a never led again:\n" + logs(a, b))
    wait_for(lambda: runs(pg_url)[-1:] == ["a"], 30, lambda: "a does not write:\n" + logs(a))
    assert runs(pg_url) == ["a", "b", "a"], logs(a, b)
