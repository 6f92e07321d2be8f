"""An SFTP server for the rig that counts per-file lstat requests (how often a file was looked at)."""

from __future__ import annotations

import functools
import os
from collections import Counter
from collections.abc import Awaitable
from typing import Any

import asyncssh

from tests.helpers.sftp import Faults, FaultySftpServer, SftpRig


class CountingSftpServer(FaultySftpServer):
    """Counts lstat requests per file name (the source's per-file stat, and its checks around a download)."""

    def __init__(
        self, chan: asyncssh.SSHServerChannel[bytes], chroot: bytes, *, faults: Faults, lstats: Counter[str]
    ) -> None:
        super().__init__(chan, chroot, faults=faults)
        self._lstats = lstats

    def lstat(self, path: bytes) -> os.stat_result | asyncssh.SFTPAttrs | Awaitable[Any]:
        self._lstats[os.path.basename(os.fsdecode(path))] += 1
        return super().lstat(path)


def count_lstats(rig: SftpRig) -> Counter[str]:
    """Serve the rig's next sessions with the counting server; the counter it fills."""
    lstats: Counter[str] = Counter()
    rig.server.sftp_factory = functools.partial(CountingSftpServer, faults=rig.faults, lstats=lstats)
    return lstats
