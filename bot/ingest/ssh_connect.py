"""Opening one SSH+SFTP session for a configured server: strict host keys, no agent, errors translated."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
import structlog

from bot.errors import HostKeyError, SourceUnavailable

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SshParams:
    """Everything SshSource needs for one server (the config layer maps `[[servers]]` onto this)."""

    server: str
    host: str
    port: int
    username: str
    private_key: Path
    passphrase: str | None = field(repr=False)
    known_hosts: Path
    remote_dir: str
    recursive: bool = False
    exec_listing: bool = True  # list with `find` over SSH exec where the account allows (probed once)
    connect_timeout: float = 15
    op_timeout: float = 30
    keepalive_interval: float = 15
    keepalive_count_max: int = 3
    max_file_bytes: int = 1_048_576
    backoff_initial: float = 1.0
    backoff_max: float = 300.0


@dataclass(slots=True)
class Session:
    """A live connection and its SFTP client; `timed_out` marks one aborted for silence."""

    conn: asyncssh.SSHClientConnection
    sftp: asyncssh.SFTPClient
    timed_out: bool = False


async def open_session(p: SshParams) -> Session:
    """Connect, authenticate with the configured key only and start SFTP; SourceUnavailable on failure."""
    known_hosts, private_key = p.known_hosts.expanduser(), p.private_key.expanduser()
    if not known_hosts.is_file():
        raise HostKeyError(
            p.server, f"known_hosts file {known_hosts} not found: cannot verify {p.host}'s host key"
        )
    try:
        key = await asyncio.to_thread(asyncssh.read_private_key, private_key, p.passphrase)
    except (OSError, asyncssh.KeyImportError, ValueError) as exc:
        raise SourceUnavailable(p.server, f"cannot load private key {private_key}: {exc}") from exc
    where = f"{p.username}@{p.host}:{p.port}"
    conn: asyncssh.SSHClientConnection | None = None
    try:
        async with asyncio.timeout(p.connect_timeout):
            conn = await asyncssh.connect(
                p.host,
                p.port,
                username=p.username,
                client_keys=[key],
                known_hosts=str(known_hosts),  # re-read on every connect: edits apply
                agent_path=None,  # never a developer's or operator's running agent
                config=None,  # nor ~/.ssh/config: behaviour comes from our config alone
                preferred_auth="publickey",
                connect_timeout=p.connect_timeout,
                login_timeout=p.connect_timeout,
                keepalive_interval=p.keepalive_interval,
                keepalive_count_max=p.keepalive_count_max,
            )
            sftp = await conn.start_sftp_client()
    except asyncssh.HostKeyNotVerifiable as exc:
        raise HostKeyError(
            p.server, f"host key of {p.host}:{p.port} is unknown or changed ({known_hosts}): {exc}"
        ) from exc
    except asyncssh.PermissionDenied as exc:
        raise SourceUnavailable(p.server, f"{where}: authentication refused") from exc
    except TimeoutError as exc:
        if conn is not None:
            conn.abort()
        raise SourceUnavailable(p.server, f"{where}: no answer within {p.connect_timeout}s") from exc
    except (OSError, asyncssh.Error) as exc:
        if conn is not None:
            conn.abort()
        raise SourceUnavailable(p.server, f"{where}: {describe(exc)}") from exc
    log.info("source_connected", server=p.server, host=p.host, port=p.port)
    return Session(conn, sftp)


class Backoff:
    """Capped exponential backoff with jitter between connection attempts, on the monotonic clock."""

    __slots__ = ("_clock", "_initial", "_jitter", "_maximum", "_retry_at", "failures")

    def __init__(
        self,
        initial: float,
        maximum: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._initial = initial
        self._maximum = maximum
        self._clock = clock
        self._jitter = jitter
        self._retry_at = 0.0
        self.failures = 0

    def remaining(self) -> float:
        """Seconds until the next attempt is allowed (0 = now)."""
        return max(0.0, self._retry_at - self._clock())

    def failed(self) -> float:
        """Record a failure; returns the delay before the next attempt."""
        self.failures += 1
        delay = min(self._maximum, self._initial * 2.0 ** min(self.failures - 1, 30))
        delay *= 0.5 + 0.5 * self._jitter()  # spread the reconnects of many servers apart
        self._retry_at = self._clock() + delay
        return delay

    def succeeded(self) -> None:
        self.failures = 0
        self._retry_at = 0.0


def describe(exc: BaseException) -> str:
    """`ExcType: reason` for logs and SourceError reasons (asyncssh errors carry `.reason`)."""
    reason = getattr(exc, "reason", None)
    text = reason if isinstance(reason, str) and reason else str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
