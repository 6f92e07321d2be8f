"""Interoperability with OpenSSH: our client against sshd (optional), OpenSSH's client against our server."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import getpass
import hashlib
import os
import shutil
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest
import structlog

from bot.errors import RemoteDirMissing, SourceUnavailable
from bot.ingest.ssh_source import SshParams, SshSource
from tests.helpers.sftp import SftpRig, sftp_rig

R1 = "2025-10-02-232339-erdenberg_t2-round-1.txt"

SSHD = Path("/usr/sbin/sshd")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.openssh
@pytest.mark.skipif(not SSHD.exists(), reason="needs Debian's /usr/sbin/sshd (apt install openssh-server)")
async def test_against_real_openssh(tmp_path: Path, samples_dir: Path) -> None:
    """Unprivileged OpenSSH on a high loopback port: SFTPv3 attributes, '.'/'..', symlinks, strict keys."""
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    host_key.write_private_key(tmp_path / "host_ed25519")
    (tmp_path / "host_ed25519").chmod(0o600)  # sshd refuses a readable host key
    client_key.write_private_key(tmp_path / "client_ed25519")
    client_key.write_public_key(tmp_path / "authorized_keys")
    port = free_port()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_key.export_public_key().decode()}")
    stats = tmp_path / "gamestats"
    stats.mkdir()
    shutil.copy2(samples_dir / R1, stats / R1)
    (stats / "link.txt").symlink_to("/etc/passwd")
    config = tmp_path / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {tmp_path}/host_ed25519\n"
        f"PidFile {tmp_path}/sshd.pid\n"
        f"AuthorizedKeysFile {tmp_path}/authorized_keys\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nSubsystem sftp internal-sftp\n"
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(exist_ok=True)  # privilege separation directory, needed when root
    proc = await asyncio.create_subprocess_exec(
        str(SSHD), "-D", "-e", "-f", str(config), stderr=asyncio.subprocess.DEVNULL
    )
    src = SshSource(
        SshParams(
            server="openssh",
            host="127.0.0.1",
            port=port,
            username=getpass.getuser(),
            private_key=tmp_path / "client_ed25519",
            passphrase=None,
            known_hosts=known,
            remote_dir=str(stats),
            connect_timeout=3,
            op_timeout=5,
            backoff_initial=0.05,
            backoff_max=0.1,
        )
    )
    try:
        deadline = time.monotonic() + 10
        while True:  # sshd needs a moment before it listens
            try:
                entries = {e.name: e for e in await src.list()}
                break
            except SourceUnavailable:
                assert time.monotonic() < deadline, "sshd did not come up"
                await asyncio.sleep(0.1)
        data = (stats / R1).read_bytes()
        assert set(entries) == {R1, "link.txt"}
        assert entries[R1].is_file
        assert entries[R1].size == len(data)
        assert entries["link.txt"].is_file is False
        got = await src.download(R1, tmp_path / "local" / R1, len(data))
        assert got.sha256 == hashlib.sha256(data).hexdigest()
    finally:
        await src.close()
        proc.terminate()
        await proc.wait()


@contextlib.asynccontextmanager
async def sshd_source(tmp_path: Path, stats: Path, extra_config: str = "") -> AsyncIterator[SshSource]:
    """An unprivileged sshd (SFTP subsystem internal-sftp) and an SshSource for `stats`, connected."""
    host_key = asyncssh.generate_private_key("ssh-ed25519")
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    host_key.write_private_key(tmp_path / "host_ed25519")
    (tmp_path / "host_ed25519").chmod(0o600)
    client_key.write_private_key(tmp_path / "client_ed25519")
    client_key.write_public_key(tmp_path / "authorized_keys")
    port = free_port()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {host_key.export_public_key().decode()}")
    config = tmp_path / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {tmp_path}/host_ed25519\n"
        f"PidFile {tmp_path}/sshd.pid\n"
        f"AuthorizedKeysFile {tmp_path}/authorized_keys\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nSubsystem sftp internal-sftp\n"
        + extra_config
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        str(SSHD), "-D", "-e", "-f", str(config), stderr=asyncio.subprocess.DEVNULL
    )
    params = SshParams(
        server="openssh", host="127.0.0.1", port=port, username=getpass.getuser(),
        private_key=tmp_path / "client_ed25519", passphrase=None, known_hosts=known, remote_dir=str(stats),
        exec_listing=False, connect_timeout=3, op_timeout=10, backoff_initial=0.05, backoff_max=0.1,
    )  # fmt: skip
    src = SshSource(params)
    try:
        deadline = time.monotonic() + 10
        while True:  # sshd needs a moment before it listens
            try:
                await src.dir_mtime()
                break
            except SourceUnavailable:
                assert time.monotonic() < deadline, "sshd did not come up"
                await asyncio.sleep(0.1)
        yield src
    finally:
        await src.close()
        proc.terminate()
        await proc.wait()


def lean_listing_folder(stats: Path) -> None:
    """More entries than one READDIR reply of OpenSSH (100), a folder, a symlink, a non-UTF-8 name."""
    stats.mkdir()
    for i in range(250):
        path = stats / f"2025-10-02-{i:06d}-supply-round-1.txt"
        path.write_bytes(b"x" * i)
        os.utime(path, (1_700_000_000 + i, 1_700_000_000 + i))
    (stats / "sub").mkdir()
    (stats / "link.txt").symlink_to("/etc/passwd")
    (stats / os.fsdecode(b"bad-\xff.txt")).write_bytes(b"1")


@pytest.mark.openssh
@pytest.mark.skipif(not SSHD.exists(), reason="needs Debian's /usr/sbin/sshd (apt install openssh-server)")
async def test_lean_listing_against_openssh_matches_asyncssh(tmp_path: Path) -> None:
    stats = tmp_path / "gamestats"
    lean_listing_folder(stats)
    async with sshd_source(tmp_path, stats) as src:
        lean = {e.name: e for e in await src.list()}
        assert src._lean_ok  # the lean reader gave this listing
        src._lean_ok = False
        stock = {e.name: e for e in await src.list()}
        src._lean_ok = True
        src._p = dataclasses.replace(src.params, remote_dir=str(tmp_path / "nowhere"))
        with pytest.raises(RemoteDirMissing):
            await src.list()
        assert src._lean_ok
        assert src.connected
    assert lean == stock
    assert len(lean) == 253
    assert [n for n, e in lean.items() if e.is_file] == [
        n for n in lean if n.startswith("2025-") or "\udcff" in n
    ]
    assert lean["2025-10-02-000249-supply-round-1.txt"].size == 249
    assert lean["2025-10-02-000249-supply-round-1.txt"].mtime == 1_700_000_249


@pytest.mark.openssh
@pytest.mark.skipif(not SSHD.exists(), reason="needs Debian's /usr/sbin/sshd (apt install openssh-server)")
async def test_one_session_per_connection_falls_back_to_asyncssh_listing(tmp_path: Path) -> None:
    """MaxSessions 1: the lean reader's own channel is refused; asyncssh's listing, logged once."""
    stats = tmp_path / "gamestats"
    lean_listing_folder(stats)
    async with sshd_source(tmp_path, stats, "MaxSessions 1\n") as src:
        with structlog.testing.capture_logs() as logs:
            first = await src.list()
            second = await src.list()
        assert not src._lean_ok
    assert len(first) == len(second) == 253
    assert [e["event"] for e in logs].count("lean_listing_failed") == 1


SFTP = shutil.which("sftp")
SSH_KEYGEN = shutil.which("ssh-keygen")


async def openssh_sftp(rig: SftpRig, batch: str) -> tuple[int, str]:
    """Run OpenSSH's own sftp client against the embedded server, strict host-key checking on."""
    assert SFTP is not None
    proc = await asyncio.create_subprocess_exec(
        SFTP, "-b", "-", "-F", "/dev/null", "-P", str(rig.server.port), "-i", str(rig.server.client_key_path),
        "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes",
        "-o", "IdentityAgent=none", "-o", f"UserKnownHostsFile={rig.server.known_hosts_path}",
        "-o", "GlobalKnownHostsFile=/dev/null", "statsbot@127.0.0.1",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(batch.encode()), 20)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


@pytest.mark.skipif(SFTP is None, reason="needs OpenSSH's sftp client")
async def test_openssh_client_accepts_the_embedded_server_files(tmp_path: Path) -> None:
    """The key and known_hosts line the embedded server writes work for OpenSSH too, strictly checked."""
    async with sftp_rig(tmp_path) as rig:
        rig.write(R1, b"served by asyncssh\n")
        local = tmp_path / "fetched.txt"
        code, out = await openssh_sftp(rig, f"ls /gamestats\nget /gamestats/{R1} {local}\n")
        assert code == 0, out
        assert R1 in out
        assert local.read_bytes() == b"served by asyncssh\n"
        rig.server.regenerate_host_key()
        await rig.server.restart()
        code, out = await openssh_sftp(rig, "ls /gamestats\n")
    assert code != 0
    assert "REMOTE HOST IDENTIFICATION HAS CHANGED" in out or "verification failed" in out


@pytest.mark.skipif(SSH_KEYGEN is None, reason="needs ssh-keygen")
async def test_wrong_passphrase_for_ssh_keygen_key_is_clear(tmp_path: Path) -> None:
    """A wrong passphrase for an ssh-keygen key is a clear SourceUnavailable and is never echoed."""
    assert SSH_KEYGEN is not None
    key = tmp_path / "id_ed25519"
    proc = await asyncio.create_subprocess_exec(
        SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "hunter22", "-f", str(key), stdout=asyncio.subprocess.DEVNULL
    )
    assert await proc.wait() == 0
    async with sftp_rig(tmp_path / "rig") as rig:
        rig.write(R1, b"x\n")
        # Authorise the ssh-keygen key on the server in place of the rig's own client key.
        rig.server.client_key_path.write_bytes(key.read_bytes())
        wrong = SshSource(rig.params(private_key=key, passphrase="not-it"))
        with pytest.raises(SourceUnavailable, match=r"cannot load private key") as err:
            await wrong.list()
        await wrong.close()
        assert "not-it" not in str(err.value)
