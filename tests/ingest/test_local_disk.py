"""A full local_stats/ disk is blamed on the local disk, by path, never on the game server (issue 10.4).

local_stats/ is a small tmpfs filled up when the test runs as root and may mount one; elsewhere
ENOSPC is injected where the download is written (`os.fdopen` in bot.ingest.files).
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.db import outbox, status
from bot.ingest import files as localfiles
from bot.ingest.poll_health import local_disk_key, unreachable_key
from tests.helpers.daemon import Clock, daemon_settings, make_app, server_values
from tests.helpers.sftp import sftp_rig

pytestmark = pytest.mark.usefixtures("daemon_store")  # on SQLite and on PostgreSQL

R1 = "2025-10-02-232339-erdenberg_t2-round-1.txt"


class _FullFile(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@contextlib.contextmanager
def full_disk(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], None]]:
    """Make `folder` a full disk; yields a function that frees it."""
    folder.mkdir(parents=True, exist_ok=True)
    mount = ["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(folder)]
    if os.geteuid() == 0 and subprocess.run(mount, capture_output=True, check=False).returncode == 0:
        filler = folder / "filler"
        try:
            (folder / "main").mkdir()
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * 4096)
            os.close(fd)
            yield lambda: filler.unlink()
        finally:
            subprocess.run(["umount", "-l", str(folder)], check=False)
        return
    real = os.fdopen
    monkeypatch.setattr(localfiles.os, "fdopen", lambda fd, *a, **k: (os.close(fd), _FullFile())[1])
    yield lambda: monkeypatch.setattr(localfiles.os, "fdopen", real)


async def test_full_local_disk_opens_a_local_disk_alert_naming_the_path_not_server_unreachable(
    tmp_path: Path, samples_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = tmp_path / "local_stats"
    async with sftp_rig(tmp_path / "sftp") as rig:
        rig.write(R1, (samples_dir / R1).read_bytes())
        settings = daemon_settings(
            tmp_path, [server_values("main", rig)], health={"unreachable_alert_polls": 3}
        )
        clock = Clock()
        with full_disk(local, monkeypatch) as free:
            app = make_app(settings, clock)
            await app.open()
            try:
                assert app.db is not None
                poller = app.pollers["main"]
                results = []
                for _ in range(8):  # each look again is followed by a failed download
                    results.append(await poller.poll())
                    clock.advance(3)
                assert sum(not r.ok for r in results) >= 3
                alerts = {a.key: a for a in await status.open_alerts(app.db)}
                assert unreachable_key("main") not in alerts
                message = alerts[local_disk_key("main")].message
                assert str(local / "main") in message
                assert "No space left on device" in message
                assert "unreachable" not in message
                queued = await outbox.due(app.db, now=1e12, limit=50)
                assert [p.payload["key"] for p in queued] == [local_disk_key("main")]  # posted once

                free()
                states = {}
                for _ in range(2):
                    states.update((await poller.poll()).states)
                    clock.advance(3)
                assert states == {R1: "imported"}
                assert await status.open_alerts(app.db) == []
                resolved = [
                    p for p in await outbox.due(app.db, now=1e12, limit=50) if p.kind == "alert_resolved"
                ]
                assert [p.payload["key"] for p in resolved] == [local_disk_key("main")]
            finally:
                await app.close()
