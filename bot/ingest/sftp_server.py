"""An in-process SSH+SFTP server on loopback with fresh keys, for `statsbot demo` and the tests."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Literal

import asyncssh
import structlog

log = structlog.get_logger(__name__)

# Builds the SFTP session object for one channel; the second argument is the chroot folder.
# A subclass of asyncssh.SFTPServer (or a functools.partial of one) fits, which is how tests inject faults.
SftpFactory = Callable[[asyncssh.SSHServerChannel[bytes], bytes], asyncssh.SFTPServer]

# What the server does with a command (SSH exec): "refuse" the session like an SFTP-only server;
# "shell": run it with /bin/sh in `root` (relative paths then mean the same folder over exec and SFTP);
# "sftp": answer with an SFTP server, like OpenSSH's `ForceCommand internal-sftp` does for any command.
ExecMode = Literal["refuse", "shell", "sftp"]

CLIENT_KEY_NAME = "client_ed25519"
KNOWN_HOSTS_NAME = "known_hosts"


class _ConnectionTracker(asyncssh.SSHServer):
    """Records live connections so `stop()` can cut them like a crashed or rebooted server would."""

    def __init__(self, owner: EmbeddedSftpServer) -> None:
        self._owner = owner
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._owner._connection_opened(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._owner._connection_closed(self._conn)


class EmbeddedSftpServer:
    """SSH+SFTP on `host` serving `root` chrooted; writes the client key and known_hosts to `keys_dir`.

    Keys are generated fresh per instance. `stop()` closes the listener and drops every live connection;
    `start()` again listens on the same port with the same host key, so clients reconnect with strict
    host-key checking exactly as against a rebooted real server.
    """

    def __init__(
        self,
        root: Path,
        keys_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        sftp_factory: SftpFactory = asyncssh.SFTPServer,
        client_key_passphrase: str | None = None,
        exec_mode: ExecMode = "refuse",
    ) -> None:
        self.root = root
        self.keys_dir = keys_dir
        self.host = host
        self.sftp_factory = sftp_factory  # read per session: may be swapped while running
        self.exec_mode: ExecMode = exec_mode  # read per command: may be switched while running
        self.commands_received = 0  # exec requests that reached the server (in "shell" and "sftp" modes)
        self._requested_port = port
        self._passphrase = client_key_passphrase
        self._host_key: asyncssh.SSHKey | None = None
        self._client_key: asyncssh.SSHKey | None = None
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._port: int | None = None
        self._live: set[asyncssh.SSHServerConnection] = set()
        self.connections_accepted = 0

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("EmbeddedSftpServer not started")
        return self._port

    @property
    def running(self) -> bool:
        return self._acceptor is not None

    @property
    def host_key(self) -> asyncssh.SSHKey:
        if self._host_key is None:
            raise RuntimeError("EmbeddedSftpServer not started")
        return self._host_key

    @property
    def client_key_path(self) -> Path:
        return self.keys_dir / CLIENT_KEY_NAME

    @property
    def known_hosts_path(self) -> Path:
        return self.keys_dir / KNOWN_HOSTS_NAME

    def known_hosts_line(self, key: asyncssh.SSHKey | None = None, port: int | None = None) -> str:
        """The OpenSSH known_hosts line for this server (`[host]:port` form unless the port is 22).

        `key`/`port` override the host key and port (a forwarded port, a deliberately wrong key).
        """
        public = (key or self.host_key).export_public_key("openssh").decode("ascii").split()
        port = self.port if port is None else port
        target = self.host if port == 22 else f"[{self.host}]:{port}"
        return f"{target} {public[0]} {public[1]}\n"

    def regenerate_host_key(self) -> None:
        """Switch to a new host key from the next `start()` on, leaving known_hosts as it was."""
        self._host_key = asyncssh.generate_private_key("ssh-ed25519")

    async def start(self) -> None:
        """Listen (first start: fresh keys, write client key + known_hosts; later: same port and key)."""
        if self._acceptor is not None:
            return
        first = self._host_key is None
        if self._host_key is None:
            self._host_key = asyncssh.generate_private_key("ssh-ed25519")
        if self._client_key is None:
            self._client_key = asyncssh.generate_private_key("ssh-ed25519")
        client_public = self._client_key.export_public_key("openssh").decode("ascii")
        chroot = os.fsencode(self.root.resolve())
        commands = {"process_factory": self._command} if self.exec_mode != "refuse" else {}
        self._acceptor = await asyncssh.listen(
            self.host,
            self._port if self._port is not None else self._requested_port,
            server_host_keys=[self._host_key],
            authorized_client_keys=asyncssh.import_authorized_keys(client_public),
            server_factory=lambda: _ConnectionTracker(self),
            sftp_factory=lambda chan: self.sftp_factory(chan, chroot),
            allow_scp=False,
            encoding=None,  # commands exchange bytes (SFTP is binary either way)
            **commands,
            reuse_address=True,  # a restart rebinds the same port while old sockets sit in TIME_WAIT
        )
        self._port = self._acceptor.get_port()
        if first:
            self._write_keys()
        log.info("sftp_server_started", host=self.host, port=self._port, root=str(self.root))

    async def stop(self) -> None:
        """Stop listening and abort every live connection (clients see the connection drop)."""
        acceptor, self._acceptor = self._acceptor, None
        if acceptor is not None:
            acceptor.close()
            await acceptor.wait_closed()
        for conn in list(self._live):
            conn.abort()
        for conn in list(self._live):
            await conn.wait_closed()
        self._live.clear()
        if acceptor is not None:
            log.info("sftp_server_stopped", host=self.host, port=self._port)

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def __aenter__(self) -> EmbeddedSftpServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _write_keys(self) -> None:
        assert self._client_key is not None
        self.keys_dir.mkdir(parents=True, exist_ok=True)
        # The same OpenSSH format ssh-keygen writes (encrypted with bcrypt when a passphrase is given).
        private = self._client_key.export_private_key("openssh", self._passphrase)
        fd = os.open(self.client_key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private)
        self.client_key_path.with_name(CLIENT_KEY_NAME + ".pub").write_bytes(
            self._client_key.export_public_key("openssh")
        )
        self.known_hosts_path.write_text(self.known_hosts_line(), encoding="ascii")

    async def _command(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        """One exec request (the subsystem "sftp" never comes here: asyncssh serves it with sftp_factory)."""
        command = process.command
        self.commands_received += 1
        if self.exec_mode != "shell" or command is None:
            await process.stdin.read()  # an SFTP server that gets no packet: reads to EOF, says nothing
            process.exit(0)
            return
        proc = await asyncio.create_subprocess_exec(
            "/bin/sh", "-c", command, cwd=self.root, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        process.stdout.write(out)
        process.stderr.write(err)
        process.exit(proc.returncode or 0)

    def _connection_opened(self, conn: asyncssh.SSHServerConnection) -> None:
        self._live.add(conn)
        self.connections_accepted += 1

    def _connection_closed(self, conn: asyncssh.SSHServerConnection) -> None:
        self._live.discard(conn)
