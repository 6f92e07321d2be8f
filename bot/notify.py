"""systemd notifications (READY, STATUS, WATCHDOG, STOPPING) via $NOTIFY_SOCKET, and the watchdog task."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


def sd_notify(*assignments: str) -> bool:
    """Send `KEY=value` assignments as one datagram to $NOTIFY_SOCKET.

    Returns False without $NOTIFY_SOCKET (terminal, docker, tests) or when sending failed; never
    raises, because a notification problem must not take the daemon down.
    """
    address = os.environ.get("NOTIFY_SOCKET")
    if not address or not assignments:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # Linux abstract namespace socket
    payload = "\n".join(assignments).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            # Non-blocking: a full receive queue must not stall the event loop that calls us.
            sock.setblocking(False)
            sock.connect(address)
            sock.sendall(payload)
    except OSError as exc:
        log.warning("sd_notify_failed", state=assignments[0], error=str(exc))
        return False
    return True


def _status(text: str) -> str:
    # One assignment per line in the protocol: a newline inside STATUS would start a bogus one.
    return "STATUS=" + " ".join(text.split())


def notify_ready(status: str | None = None) -> bool:
    """Tell systemd start-up is complete (Type=notify): after the db, scheduler and chat are up."""
    return sd_notify("READY=1", *([_status(status)] if status else []))


def notify_status(status: str) -> bool:
    """Free-text status shown by `systemctl status statsbot`."""
    return sd_notify(_status(status))


def notify_stopping(status: str | None = None) -> bool:
    """Tell systemd a clean shutdown has begun (draining in-flight work)."""
    return sd_notify("STOPPING=1", *([_status(status)] if status else []))


def notify_watchdog() -> bool:
    return sd_notify("WATCHDOG=1")


def watchdog_interval() -> float | None:
    """Seconds between watchdog pings: half of $WATCHDOG_USEC (sd_watchdog_enabled(3)); None if disabled."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    try:
        if not usec or int(usec) <= 0 or (pid and int(pid) != os.getpid()):
            return None
        return int(usec) / 1_000_000 / 2
    except ValueError:
        log.warning("watchdog_env_invalid", watchdog_usec=usec, watchdog_pid=pid)
        return None


async def _check(is_healthy: Callable[[], Awaitable[bool]], limit: float) -> tuple[bool, str | None]:
    try:
        async with asyncio.timeout(limit):
            return bool(await is_healthy()), None
    except TimeoutError:
        return False, f"health check took longer than {limit:g}s"
    except Exception as exc:  # a broken check is unhealthy, never a crashed watchdog task
        return False, f"health check failed: {type(exc).__name__}: {exc}"


async def watchdog_loop(is_healthy: Callable[[], Awaitable[bool]]) -> None:
    """Ping the systemd watchdog at half its timeout while `is_healthy()` says so; returns if disabled.

    Runs on the event loop on purpose: a stalled loop stops the pings and systemd restarts the
    service. `is_healthy` should judge the process itself (loop, database, scheduler), not whether
    the game servers are reachable: a server being down is not a reason to restart the bot.
    """
    interval = watchdog_interval()
    if interval is None:
        return
    log.info("watchdog_enabled", ping_every_seconds=interval)
    loop = asyncio.get_running_loop()
    withheld = False
    next_ping = loop.time()
    while True:
        # Half an interval for the check keeps a slow check from pushing pings past the timeout.
        healthy, reason = await _check(is_healthy, interval / 2)
        if healthy:
            notify_watchdog()
            if withheld:
                log.info("watchdog_pings_resumed")
            withheld = False
        elif not withheld:
            log.warning("watchdog_pings_withheld", reason=reason or "process reported unhealthy")
            withheld = True
        # A fixed cadence, not "interval after the check": after a stall, do not try to catch up.
        next_ping = max(next_ping + interval, loop.time())
        await asyncio.sleep(next_ping - loop.time())
