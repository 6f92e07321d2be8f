"""A real unprivileged OpenSSH sshd for benchmarks: an SFTP-only account like README recommends.

`ForceCommand internal-sftp -d ROOT`: every session, commands included, is OpenSSH's own SFTP server
starting in ROOT (so relative remote paths mean the same folder as with bench/sftp_serve.py). Needs
Debian's /usr/sbin/sshd (`apt-get install openssh-server`). The client key and known_hosts are written
into KEYS under the names the embedded server uses; the login name is the current user.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh

from bot.ingest.sftp_server import CLIENT_KEY_NAME, KNOWN_HOSTS_NAME

SSHD = Path("/usr/sbin/sshd")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _configure(root: Path, keys: Path) -> tuple[Path, int]:
    """Keys, known_hosts and sshd_config in `keys`; returns the config file and the port it names."""
    if not SSHD.exists():
        raise SystemExit(f"{SSHD} not found: apt-get install openssh-server")
    keys.mkdir(parents=True, exist_ok=True)
    host_key, client_key = (asyncssh.generate_private_key("ssh-ed25519") for _ in range(2))
    host_key.write_private_key(keys / "host_ed25519")
    (keys / "host_ed25519").chmod(0o600)  # sshd refuses a readable host key
    client_key.write_private_key(keys / CLIENT_KEY_NAME)
    client_key.write_public_key(keys / "authorized_keys")
    port = _free_port()
    (keys / KNOWN_HOSTS_NAME).write_text(f"[127.0.0.1]:{port} {host_key.export_public_key().decode()}")
    config = keys / "sshd_config"
    start = root.resolve()
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {keys}/host_ed25519\nPidFile {keys}/sshd.pid\n"
        f"AuthorizedKeysFile {keys}/authorized_keys\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        f"Subsystem sftp internal-sftp -d {start}\nForceCommand internal-sftp -d {start}\n"
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory, needed when root
    return config, port


@contextlib.asynccontextmanager
async def openssh_server(root: Path, keys: Path) -> AsyncIterator[int]:
    """sshd serving `root` SFTP-only on a free loopback port; yields the port once it accepts logins."""
    config, port = _configure(root, keys)
    proc = await asyncio.create_subprocess_exec(
        str(SSHD), "-D", "-e", "-f", str(config), stderr=asyncio.subprocess.DEVNULL
    )
    try:
        for _ in range(100):  # sshd needs a moment before it listens
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            writer.close()
            break
        else:
            raise SystemExit("sshd did not come up")
        yield port
    finally:
        proc.terminate()
        await proc.wait()
