"""bot.notify against real unix datagram sockets (path and abstract), and the watchdog ping cadence."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from bot.notify import (
    notify_ready,
    notify_status,
    notify_stopping,
    notify_watchdog,
    sd_notify,
    watchdog_interval,
    watchdog_loop,
)


class Receiver:
    """The systemd side: a bound datagram socket that collects what the daemon sends."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def pending(self) -> list[str]:
        messages: list[str] = []
        while True:
            try:
                messages.append(self.sock.recv(4096).decode())
            except BlockingIOError:
                return messages


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    # A short private directory: unix socket paths are limited to 108 bytes.
    with tempfile.TemporaryDirectory(prefix="sdn-") as folder:
        path = str(Path(folder) / "notify.sock")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(path)
            sock.setblocking(False)
            monkeypatch.setenv("NOTIFY_SOCKET", path)
            yield Receiver(sock)


def test_without_notify_socket_everything_is_a_quiet_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sd_notify("READY=1") is False
    assert notify_ready("up") is False
    assert notify_watchdog() is False


def test_ready_with_status_is_one_datagram(receiver: Receiver) -> None:
    assert notify_ready("polling 2 servers") is True
    assert receiver.pending() == ["READY=1\nSTATUS=polling 2 servers"]


def test_status_stopping_and_watchdog(receiver: Receiver) -> None:
    assert notify_status("importing\n3 files")
    assert notify_stopping("draining")
    assert notify_stopping()
    assert notify_watchdog()
    assert receiver.pending() == [
        "STATUS=importing 3 files",  # a newline would start a bogus assignment
        "STOPPING=1\nSTATUS=draining",
        "STOPPING=1",
        "WATCHDOG=1",
    ]


def test_abstract_namespace_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"statsbot-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert sd_notify("READY=1") is True
        assert sock.recv(4096) == b"READY=1"


def test_unreachable_socket_returns_false_and_logs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone.sock"))
    with structlog.testing.capture_logs() as logs:
        assert notify_ready() is False
    assert logs[0]["event"] == "sd_notify_failed"
    assert logs[0]["state"] == "READY=1"


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        ("200000", None, 0.1),
        ("60000000", "self", 30.0),
        ("200000", "other", None),
        (None, None, None),
        ("0", None, None),
        ("soon", None, None),
    ],
)
def test_watchdog_interval_is_half_the_timeout(
    monkeypatch: pytest.MonkeyPatch, usec: str | None, pid: str | None, expected: float | None
) -> None:
    for name, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(
                name, {"self": str(os.getpid()), "other": str(os.getpid() + 1)}.get(value, value)
            )
    assert watchdog_interval() == expected


async def test_watchdog_loop_returns_when_watchdog_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)

    async def healthy() -> bool:
        return True

    await asyncio.wait_for(watchdog_loop(healthy), timeout=1)


async def test_watchdog_pings_only_while_healthy(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "100000")  # ping every 0.05 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    state = {"healthy": True}

    async def is_healthy() -> bool:
        return state["healthy"]

    with structlog.testing.capture_logs() as logs:
        task = asyncio.create_task(watchdog_loop(is_healthy))
        try:
            await asyncio.sleep(0.3)
            healthy_pings = receiver.pending()
            state["healthy"] = False
            await asyncio.sleep(0.07)  # let a ping already scheduled go out
            receiver.pending()
            await asyncio.sleep(0.25)
            unhealthy_pings = receiver.pending()
            state["healthy"] = True
            await asyncio.sleep(0.2)
            resumed = receiver.pending()
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    assert 3 <= len(healthy_pings) <= 8
    assert set(healthy_pings) == {"WATCHDOG=1"}
    assert unhealthy_pings == []
    assert len(resumed) >= 2
    events = [entry["event"] for entry in logs]
    assert events.count("watchdog_pings_withheld") == 1
    assert "watchdog_pings_resumed" in events


async def test_failing_or_hanging_health_check_withholds_pings(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "100000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)

    async def broken() -> bool:
        raise RuntimeError("db gone")

    async def hanging() -> bool:
        await asyncio.sleep(60)
        return True

    for check, reason in ((broken, "RuntimeError: db gone"), (hanging, "longer than")):
        with structlog.testing.capture_logs() as logs:
            task = asyncio.create_task(watchdog_loop(check))
            await asyncio.sleep(0.25)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        assert receiver.pending() == []
        withheld = [entry for entry in logs if entry["event"] == "watchdog_pings_withheld"]
        assert len(withheld) == 1
        assert reason in withheld[0]["reason"]
