"""Listing by one `find` over SSH exec against the real in-process SSH server: same entries as SFTP, only
what changed since the cursor, and SFTP whenever the account cannot run the command."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from bot.db import status
from bot.ingest.exec_listing import ListingFormatError, parse_listing
from bot.ingest.source import ChangeLister, RemoteEntry
from bot.ingest.ssh_source import SshSource
from tests.helpers.daemon import Clock, daemon_settings, make_app, server_values
from tests.helpers.sftp import REMOTE_DIR, SftpRig, sftp_rig

# Relative: the test server runs commands in its SFTP root, so a relative folder is the same folder over
# exec and over SFTP (as on a real account, where both start in the home directory).
FOLDER = REMOTE_DIR.strip("/")


def by_name(entries: list[RemoteEntry]) -> list[RemoteEntry]:
    return sorted(entries, key=lambda e: e.name)


def fill_varied(rig: SftpRig) -> None:
    """Regular files of several sizes and mtimes (one a hair before a whole second), a subfolder, a
    symlink, a name with spaces and one that is not UTF-8."""
    rig.write("2025-10-02-232339-erdenberg_t2-round-1.txt", b"x" * 1234, mtime=1_700_000_000)
    path = rig.write("2025-10-02-232818-erdenberg_t2-round-2.txt", b"y" * 99)
    os.utime(path, (1_700_000_100.9999999, 1_700_000_100.9999999))
    rig.write("a name with spaces.txt", b"")
    (rig.stats_dir / "subfolder").mkdir()
    os.symlink("a name with spaces.txt", rig.stats_dir / "link.txt")
    with open(os.fsencode(rig.stats_dir) + b"/not-utf8-\xff.txt", "wb") as handle:
        handle.write(b"z")


@pytest.fixture
async def shell_rig(tmp_path: Path) -> AsyncIterator[SftpRig]:
    async with sftp_rig(tmp_path, exec_mode="shell") as rig:
        yield rig


async def test_find_listing_gives_exactly_the_sftp_entries(shell_rig: SftpRig) -> None:
    fill_varied(shell_rig)
    source = SshSource(shell_rig.params(remote_dir=FOLDER))
    try:
        assert isinstance(source, ChangeLister)
        changes = await source.list_changed(None)
        assert changes is not None
        assert changes.complete
        over_sftp = await source.list()
    finally:
        await source.close()
    assert len(over_sftp) == 6
    assert by_name(changes.entries) == by_name(over_sftp)
    assert abs(changes.cursor - time.time()) < 5  # the server's clock (here the same machine's)


async def test_only_entries_changed_since_the_cursor_are_listed(shell_rig: SftpRig) -> None:
    rig = shell_rig
    for n in range(5):
        rig.write(f"old-{n}.txt", b"old")
    await asyncio.sleep(2.1)  # ctimes are the server's and cannot be set back: let the old ones age
    source = SshSource(rig.params(remote_dir=FOLDER))
    try:
        first = await source.list_changed(None)
        assert first is not None
        assert len(first.entries) == 5
        rig.write("new.txt", b"new")
        with open(rig.stats_dir / "old-1.txt", "ab") as handle:  # grown
            handle.write(b"more")
        rig.write("copied-with-old-mtime.txt", b"c", mtime=1_600_000_000)  # cp -p: ctime is still now
        changed = await source.list_changed(first.cursor)
        assert changed is not None
        assert not changed.complete
        assert {e.name for e in changed.entries} == {"new.txt", "old-1.txt", "copied-with-old-mtime.txt"}
        full = {e.name: e for e in await source.list()}
        assert all(full[e.name] == e for e in changed.entries)  # the same attributes as SFTP gives
        assert changed.cursor >= first.cursor
        assert rig.server.commands_received == 3  # probed once, then one command per listing
    finally:
        await source.close()


@pytest.mark.parametrize("mode", ["refuse", "sftp"])
async def test_account_without_commands_falls_back_to_sftp_and_probes_once(tmp_path: Path, mode: str) -> None:
    # "refuse": the server refuses the session channel; "sftp": every command is answered by an SFTP
    # server (OpenSSH ForceCommand internal-sftp), which prints nothing: neither may hang or fail.
    async with sftp_rig(tmp_path, exec_mode=mode) as rig:  # type: ignore[arg-type]
        fill_varied(rig)
        source = SshSource(rig.params(remote_dir=FOLDER))
        try:
            started = time.monotonic()
            with capture_logs() as logs:
                assert await source.list_changed(None) is None
                assert await source.list_changed(None) is None
            assert time.monotonic() - started < 1.5  # well within op_timeout (2 s): no wait for output
            assert [e["available"] for e in logs if e["event"] == "exec_listing_probed"] == [False]
            assert rig.server.commands_received == (1 if mode == "sftp" else 0)
            assert len(await source.list()) == 6  # SFTP still lists, on the same connection
            assert rig.server.connections_accepted == 1
        finally:
            await source.close()


async def test_exec_listing_off_in_config_never_sends_a_command(shell_rig: SftpRig) -> None:
    source = SshSource(shell_rig.params(remote_dir=FOLDER, exec_listing=False))
    try:
        assert await source.list_changed(None) is None
    finally:
        await source.close()
    assert shell_rig.server.commands_received == 0


async def test_failing_find_falls_back_to_sftp_for_good(shell_rig: SftpRig) -> None:
    # An absolute folder: the test server's SFTP side is chrooted, its shell is not, so `cd` fails there,
    # as it would on a server whose commands see another file system than its SFTP.
    fill_varied(shell_rig)
    source = SshSource(shell_rig.params())
    try:
        with capture_logs() as logs:
            assert await source.list_changed(None) is None
            assert await source.list_changed(None) is None
        assert [e["event"] for e in logs if e["event"].startswith("exec_listing")] == [
            "exec_listing_probed",
            "exec_listing_failed",
        ]
        assert len(await source.list()) == 6
    finally:
        await source.close()


def test_truncated_or_foreign_output_is_refused() -> None:
    assert parse_listing(b"1700000000\nf 3 1700000000.5 a b\0") == (
        1_700_000_000,
        [RemoteEntry("a b", 3, 1_700_000_000, True)],
    )
    for bad in (b"", b"hello\n", b"1700000000\nf 3 17 a", b"1700000000\nf x 17 a\0", b"170\nf 3\0"):
        with pytest.raises(ListingFormatError):
            parse_listing(bad)


async def test_poller_lists_only_changes_and_imports_the_new_file(tmp_path: Path, samples_dir: Path) -> None:
    names = sorted(p.name for p in samples_dir.glob("*-round-*.txt"))[:6]
    async with sftp_rig(tmp_path, exec_mode="shell") as rig:
        for name in names[:5]:
            rig.write(name, (samples_dir / name).read_bytes())
        await asyncio.sleep(2.1)  # older than the cursor's slack when first listed
        clock = Clock()
        values = server_values("main", rig, remote_dir=FOLDER, full_listing_seconds=300)
        app = make_app(daemon_settings(tmp_path, [values]), clock)
        await app.open()
        try:
            poller = app.pollers["main"]
            first = await poller.poll()
            assert (first.ok, first.entries) == (True, 5)  # the first listing is complete
            clock.advance(3)
            assert set((await poller.poll()).states) == set(names[:5])
            await asyncio.sleep(1.1)  # the folder's mtime has whole seconds: make the change visible
            rig.write(names[5], (samples_dir / names[5]).read_bytes())
            seen = await poller.poll()
            assert (seen.ok, seen.listed, seen.entries) == (True, True, 1)  # only the new file came back
            assert app.db is not None
            [row] = await status.server_statuses(app.db)
            assert row.last_listing_count == 5  # the folder's size stays the last complete listing's
            clock.advance(3)
            done = await poller.poll()
            assert done.states == {names[5]: "imported"}
        finally:
            await app.close()
