"""Real SSH key files for config tests: a private key and a known_hosts line, under a fake HOME."""

from __future__ import annotations

from pathlib import Path

import asyncssh


def make_ssh_files(home: Path, host: str = "et.example.org") -> tuple[Path, Path]:
    """`home/.ssh/statsbot_ed25519` and `home/.ssh/known_hosts` (the paths the test configs name)."""
    ssh = home / ".ssh"
    ssh.mkdir(parents=True, exist_ok=True)
    key = ssh / "statsbot_ed25519"
    key.write_bytes(asyncssh.generate_private_key("ssh-ed25519").export_private_key())
    key.chmod(0o600)
    host_key = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().split()
    known_hosts = ssh / "known_hosts"
    known_hosts.write_text(f"# pinned\n{host} {host_key[0]} {host_key[1]}\n")
    return key, known_hosts
