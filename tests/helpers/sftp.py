"""Test rig around bot.ingest.sftp_server: a served folder, SshParams for it, and fault injection hooks."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import asyncssh

from bot.ingest.sftp_server import EmbeddedSftpServer, ExecMode
from bot.ingest.ssh_source import SshParams

REMOTE_DIR = "/gamestats"


@dataclass
class Faults:
    """Switches the faulty SFTP server reads on every request; flip them at any time during a test."""

    stall_reads: bool = False  # reads wait until release() (or the test ends)
    stall_listing: bool = False  # directory reads likewise
    before_read: Callable[[bytes, int], None] | None = None  # (local path, offset) before data is served
    extra_names: list[asyncssh.SFTPName] = field(default_factory=list)  # appended to every listing
    reads: int = 0
    read_paths: set[bytes] = field(default_factory=set)  # local paths actually served
    read_started: asyncio.Event = field(default_factory=asyncio.Event)
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        """Let stalled requests go on (called at teardown so no server task is left waiting)."""
        self._released.set()

    async def stall(self) -> None:
        await self._released.wait()


class FaultySftpServer(asyncssh.SFTPServer):
    """The real chrooted SFTP server with hook points: stalls, mutations before reads, hostile names."""

    def __init__(self, chan: asyncssh.SSHServerChannel[bytes], chroot: bytes, *, faults: Faults) -> None:
        super().__init__(chan, chroot=chroot)
        self._faults = faults
        self._paths: dict[int, bytes] = {}

    def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        handle = super().open(path, pflags, attrs)
        self._paths[id(handle)] = self.map_path(path)
        return handle

    async def read(self, file_obj: object, offset: int, size: int) -> bytes:
        faults = self._faults
        path = self._paths.get(id(file_obj), b"")
        faults.reads += 1
        faults.read_paths.add(path)
        faults.read_started.set()
        if faults.before_read is not None:
            faults.before_read(path, offset)
        if faults.stall_reads:
            await faults.stall()
        return cast(bytes, super().read(file_obj, offset, size))

    async def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:
        if self._faults.stall_listing:
            await self._faults.stall()
        async for name in super().scandir(path):
            yield name
        for name in self._faults.extra_names:
            yield name


@dataclass
class SftpRig:
    """One embedded server: `stats_dir` is what the client sees as REMOTE_DIR."""

    server: EmbeddedSftpServer
    root: Path
    stats_dir: Path
    local_stats: Path
    faults: Faults

    def params(self, name: str = "main", **overrides: Any) -> SshParams:
        """SshParams for this server with test-sized timeouts and backoff."""
        base = SshParams(
            server=name,
            host="127.0.0.1",
            port=self.server.port,
            username="statsbot",
            private_key=self.server.client_key_path,
            passphrase=None,
            known_hosts=self.server.known_hosts_path,
            remote_dir=REMOTE_DIR,
            connect_timeout=3.0,
            op_timeout=2.0,
            backoff_initial=0.05,
            backoff_max=0.2,
        )
        return dataclasses.replace(base, **overrides)

    def write(self, name: str, data: bytes, mtime: int | None = None) -> Path:
        """Create or replace a served file (optionally with a fixed whole-second mtime)."""
        path = self.stats_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        return path


@asynccontextmanager
async def sftp_rig(
    base: Path, *, passphrase: str | None = None, exec_mode: ExecMode = "refuse"
) -> AsyncIterator[SftpRig]:
    """Start an embedded server serving `base/remote` (chroot) with a FaultySftpServer; stop it after."""
    root = base / "remote"
    stats_dir = root / REMOTE_DIR.strip("/")
    stats_dir.mkdir(parents=True)
    faults = Faults()
    server = EmbeddedSftpServer(
        root,
        base / "keys",
        sftp_factory=functools.partial(FaultySftpServer, faults=faults),
        client_key_passphrase=passphrase,
        exec_mode=exec_mode,
    )
    await server.start()
    try:
        yield SftpRig(server, root, stats_dir, base / "local_stats", faults)
    finally:
        faults.release()
        await server.stop()


def tree_outside(base: Path, exclude: Path) -> set[Path]:
    """Every path under `base` except those under `exclude`: proves a test wrote nowhere else."""
    return {p for p in base.rglob("*") if not p.is_relative_to(exclude)}


class TcpProxy:
    """A loopback TCP proxy in front of the server: `blackhole` swallows bytes both ways (no RST, no FIN),
    `cut()` drops every connection at once, like a network path that dies."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.blackhole = False

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        self._writers.update((writer, up_writer))
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                if not self.blackhole:
                    dst.write(data)
                    await dst.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            dst.close()

    def cut(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def stop(self) -> None:
        self.cut()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
