"""SshSource against the real in-process asyncssh SFTP server: listing, downloads, faults, host keys."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncssh
import pytest

from bot.errors import HostKeyError, RemoteFileChanged, SourceError, SourceUnavailable
from bot.ingest.files import FileTooLarge, UnsafeName, safe_local_path
from bot.ingest.ssh_connect import Backoff
from bot.ingest.ssh_source import SshSource
from tests.helpers.sftp import SftpRig, TcpProxy, sftp_rig, tree_outside

R1 = "2025-10-02-232339-erdenberg_t2-round-1.txt"
R2 = "2025-10-02-233512-erdenberg_t2-round-2.txt"


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[SftpRig]:
    async with sftp_rig(tmp_path) as r:
        yield r


@pytest.fixture
async def source(rig: SftpRig) -> AsyncIterator[SshSource]:
    src = SshSource(rig.params())
    yield src
    await src.close()


def dest_for(rig: SftpRig, name: str) -> Path:
    return safe_local_path(rig.local_stats, "main", name)


def no_parts(rig: SftpRig) -> bool:
    return not list(rig.local_stats.rglob("*.part"))


async def test_lists_files_with_attributes_and_reuses_one_connection(
    rig: SftpRig, source: SshSource, samples_dir: Path
) -> None:
    data = (samples_dir / R1).read_bytes()
    rig.write(R1, data, mtime=1_759_440_000)
    (rig.stats_dir / "archive").mkdir()

    entries = {e.name: e for e in await source.list()}

    assert set(entries) == {R1, "archive"}  # '.' and '..' skipped
    assert (entries[R1].size, entries[R1].mtime, entries[R1].is_file) == (len(data), 1_759_440_000, True)
    assert entries["archive"].is_file is False
    rig.write(R2, b"late\n")
    assert {e.name for e in await source.list()} == {R1, R2, "archive"}  # a file appearing
    assert await source.stat(R2) is not None
    assert rig.server.connections_accepted == 1


async def test_dir_mtime_is_one_stat_of_the_watched_folder(rig: SftpRig, source: SshSource) -> None:
    os.utime(rig.stats_dir, (1_700_000_000, 1_700_000_000))
    assert await source.dir_mtime() == 1_700_000_000
    rig.write(R1, b"x\n")
    os.utime(rig.stats_dir, (1_700_000_005, 1_700_000_005))
    assert await source.dir_mtime() == 1_700_000_005


async def test_recursive_listing_gives_relative_names(rig: SftpRig) -> None:
    rig.write(R1, b"a\n")
    rig.write(f"2025/{R2}", b"b\n")
    src = SshSource(rig.params(recursive=True))
    try:
        names = {e.name: e.is_file for e in await src.list()}
        got = await src.download(f"2025/{R2}", dest_for(rig, f"2025/{R2}"), 2)
    finally:
        await src.close()
    assert names == {R1: True, "2025": False, f"2025/{R2}": True}
    assert got.path.read_bytes() == b"b\n"


async def test_download_is_atomic_hashed_and_sized(
    rig: SftpRig, source: SshSource, samples_dir: Path
) -> None:
    data = (samples_dir / R1).read_bytes()
    rig.write(R1, data)
    dest = dest_for(rig, R1)

    got = await source.download(R1, dest, len(data))

    assert got.path == dest
    assert got.size == len(data)
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    assert dest.read_bytes() == data
    assert no_parts(rig)


async def test_replaced_file_gives_new_hash(rig: SftpRig, source: SshSource) -> None:
    rig.write(R1, b"first version\n")
    first = await source.download(R1, dest_for(rig, R1), 14)
    rig.write(R1, b"other version\n")  # same name, same size, new content
    second = await source.download(R1, dest_for(rig, R1), 14)
    assert first.sha256 != second.sha256
    assert dest_for(rig, R1).read_bytes() == b"other version\n"


async def test_file_grown_since_listing_is_refused(rig: SftpRig, source: SshSource) -> None:
    rig.write(R1, b"0123456789\n")
    [entry] = await source.list()
    with (rig.stats_dir / R1).open("ab") as f:
        f.write(b"more\n")

    with pytest.raises(RemoteFileChanged, match=R1):
        await source.download(R1, dest_for(rig, R1), entry.size)

    assert not dest_for(rig, R1).exists()
    assert no_parts(rig)


async def test_file_growing_during_transfer_is_discarded(rig: SftpRig, source: SshSource) -> None:
    data = b"x" * 200_000  # several reads
    rig.write(R1, data)

    def append_once(path: bytes, offset: int) -> None:
        if offset > 0 and path.endswith(R1.encode()):
            rig.faults.before_read = None
            with open(path, "ab") as f:
                f.write(b"appended\n")

    rig.faults.before_read = append_once
    with pytest.raises(RemoteFileChanged):
        await source.download(R1, dest_for(rig, R1), len(data))
    assert not dest_for(rig, R1).exists()
    assert no_parts(rig)
    assert source.connected  # a changed file is not a connection problem


async def test_vanished_file(rig: SftpRig, source: SshSource) -> None:
    assert await source.stat(R1) is None
    with pytest.raises(RemoteFileChanged, match="vanished"):
        await source.download(R1, dest_for(rig, R1), 3)
    assert no_parts(rig)


async def test_file_over_the_limit_is_refused_before_transfer(rig: SftpRig) -> None:
    rig.write(R1, b"y" * 2048)
    src = SshSource(rig.params(max_file_bytes=1024))
    try:
        with pytest.raises(FileTooLarge) as err:
            await src.download(R1, dest_for(rig, R1), 2048)
    finally:
        await src.close()
    assert (err.value.size, err.value.limit) == (2048, 1024)
    assert rig.faults.reads == 0


async def test_delete_is_idempotent(rig: SftpRig, source: SshSource) -> None:
    rig.write(R1, b"a\n")
    await source.delete(R1)
    assert not (rig.stats_dir / R1).exists()
    await source.delete(R1)  # already gone: no error


async def test_server_stopped_mid_download_then_same_source_recovers(rig: SftpRig, source: SshSource) -> None:
    rig.write(R1, b"z" * 5000)
    rig.faults.stall_reads = True
    download = asyncio.create_task(source.download(R1, dest_for(rig, R1), 5000))
    await asyncio.wait_for(rig.faults.read_started.wait(), 5)

    await rig.server.stop()
    with pytest.raises(SourceUnavailable):
        await download
    assert no_parts(rig)
    assert not source.connected
    with pytest.raises(SourceUnavailable):  # still down (or in backoff): fails fast either way
        await source.list()

    rig.faults.stall_reads = False
    await rig.server.start()
    await asyncio.sleep(source.next_retry_in())
    got = await source.download(R1, dest_for(rig, R1), 5000)
    assert got.size == 5000
    assert source.connected
    assert source.next_retry_in() == 0


async def test_backoff_fails_fast_then_retries(rig: SftpRig) -> None:
    await rig.server.stop()
    src = SshSource(rig.params(backoff_initial=0.5, backoff_max=0.5))
    try:
        with pytest.raises(SourceUnavailable, match=r"ConnectionRefused|connect"):
            await src.list()
        assert 0.2 < src.next_retry_in() <= 0.5
        await rig.server.start()
        accepted = rig.server.connections_accepted
        with pytest.raises(SourceUnavailable, match="retry in"):  # in backoff: no new connection attempt
            await src.list()
        assert rig.server.connections_accepted == accepted
        await asyncio.sleep(src.next_retry_in())
        assert await src.list() == []
    finally:
        await src.close()


async def test_stalled_read_times_out_within_op_timeout(rig: SftpRig) -> None:
    rig.write(R1, b"a" * 100)
    rig.faults.stall_reads = True
    src = SshSource(rig.params(op_timeout=0.5))
    try:
        started = time.monotonic()
        with pytest.raises(SourceUnavailable, match=r"no answer within 0\.5s"):
            await src.download(R1, dest_for(rig, R1), 100)
        assert time.monotonic() - started < 2.0
        assert not src.connected
    finally:
        await src.close()
    assert no_parts(rig)


async def test_stalled_listing_times_out(rig: SftpRig) -> None:
    rig.faults.stall_listing = True
    src = SshSource(rig.params(op_timeout=0.5))
    try:
        started = time.monotonic()
        with pytest.raises(SourceUnavailable):
            await src.list()
        assert time.monotonic() - started < 2.0
    finally:
        await src.close()


async def test_one_server_down_does_not_block_the_other(rig: SftpRig, tmp_path: Path) -> None:
    # A black hole: accepts TCP and never says a word (no SSH banner), like a dead NAT mapping.
    held: list[asyncio.StreamWriter] = []

    async def swallow(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    hole = await asyncio.start_server(swallow, "127.0.0.1", 0)
    hole_port = hole.sockets[0].getsockname()[1]
    rig.write(R1, b"a\n")
    good = SshSource(rig.params("good"))
    dead = SshSource(rig.params("dead", port=hole_port, connect_timeout=1.5))
    try:
        started = time.monotonic()
        dead_task = asyncio.create_task(dead.list())
        entries = await good.list()
        good_seconds = time.monotonic() - started
        with pytest.raises(SourceUnavailable, match="dead"):
            await dead_task
        assert [e.name for e in entries] == [R1]
        assert good_seconds < 1.0
    finally:
        await good.close()
        await dead.close()
        for writer in held:
            writer.close()
        hole.close()
        await hole.wait_closed()


async def test_missing_known_hosts_names_the_path(rig: SftpRig, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "known_hosts"
    src = SshSource(rig.params(known_hosts=missing))
    with pytest.raises(HostKeyError, match=str(missing)) as err:
        await src.list()
    assert err.value.server == "main"
    assert rig.server.connections_accepted == 0


async def test_unknown_host_key_is_refused(rig: SftpRig, tmp_path: Path) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519")
    known = tmp_path / "known_hosts_other"
    known.write_text(rig.server.known_hosts_line(other, port=2222))
    src = SshSource(rig.params(known_hosts=known))
    with pytest.raises(HostKeyError, match=r"127\.0\.0\.1"):
        await src.list()
    await src.close()


async def test_changed_host_key_is_refused(rig: SftpRig, source: SshSource) -> None:
    assert await source.list() == []
    await source.close()
    rig.server.regenerate_host_key()
    await rig.server.restart()
    with pytest.raises(HostKeyError, match=r"127\.0\.0\.1.*unknown or changed"):
        await source.list()


async def test_wrong_key_passphrase_is_unavailable_without_leaking_it(tmp_path: Path) -> None:
    async with sftp_rig(tmp_path, passphrase="correct horse") as rig:
        # ssh-keygen's default format (bcrypt KDF), as operators will have it.
        assert rig.server.client_key_path.read_bytes().startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
        ok = SshSource(rig.params(passphrase="correct horse"))
        bad = SshSource(rig.params(passphrase="wrong battery"))
        try:
            assert await ok.list() == []
            with pytest.raises(SourceUnavailable, match="private key") as err:
                await bad.list()
        finally:
            await ok.close()
            await bad.close()
    assert "wrong battery" not in str(err.value)
    assert "wrong battery" not in repr(bad.params)


async def test_hostile_names_never_reach_the_local_disk(
    rig: SftpRig, source: SshSource, tmp_path: Path
) -> None:
    rig.write(R1, b"legit\n")
    real_attrs = asyncssh.SFTPAttrs.from_local((rig.stats_dir / R1).stat())
    hostile = [b"../x", b"a/b", b"x\x00y", b"evil\nname.txt", b"..", b"/etc/passwd", b"\xff\xfe.txt"]
    rig.faults.extra_names = [asyncssh.SFTPName(n, attrs=real_attrs) for n in hostile]
    os.symlink("/etc/passwd", rig.stats_dir / "2025-10-02-000000-passwd-round-1.txt")
    before = tree_outside(tmp_path, rig.local_stats)

    entries = {e.name: e for e in await source.list()}

    assert entries["2025-10-02-000000-passwd-round-1.txt"].is_file is False  # symlink: not a file
    for raw in hostile:
        if raw == b"..":
            assert ".." not in entries  # skipped like '.'
            continue
        name = raw.decode("utf-8", "surrogateescape")
        assert name in entries
        if name == "a/b":  # a legal relative path in recursive mode: it stays inside local_stats
            assert safe_local_path(rig.local_stats, "main", name).is_relative_to(rig.local_stats.resolve())
        else:
            with pytest.raises(UnsafeName):
                safe_local_path(rig.local_stats, "main", name)
        with pytest.raises(UnsafeName):
            await source.download(name, rig.local_stats / "main" / "safe.txt", 6)
    with pytest.raises(RemoteFileChanged, match="regular"):
        await source.download(
            "2025-10-02-000000-passwd-round-1.txt",
            dest_for(rig, "2025-10-02-000000-passwd-round-1.txt"),
            entries["2025-10-02-000000-passwd-round-1.txt"].size,
        )
    assert (await source.download(R1, dest_for(rig, R1), 6)).size == 6  # the legit file still works
    assert tree_outside(tmp_path, rig.local_stats) == before
    assert [p.name for p in rig.local_stats.rglob("*") if p.is_file()] == [R1]
    assert rig.faults.read_paths == {os.fsencode(rig.stats_dir.resolve() / R1)}


async def test_permission_denied_on_one_file_keeps_the_connection(rig: SftpRig, source: SshSource) -> None:
    rig.write(R1, b"secret\n")

    def deny(path: bytes, offset: int) -> None:
        raise asyncssh.SFTPPermissionDenied("Permission denied")

    rig.faults.before_read = deny
    with pytest.raises(SourceError, match="Permission denied") as err:
        await source.download(R1, dest_for(rig, R1), 7)
    assert not isinstance(err.value, SourceUnavailable | RemoteFileChanged)
    assert source.connected  # one unreadable file says nothing about the server
    assert no_parts(rig)
    rig.faults.before_read = None
    assert (await source.download(R1, dest_for(rig, R1), 7)).size == 7
    assert rig.server.connections_accepted == 1


async def wait_until(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


async def test_connection_closed_while_idle_reconnects_without_an_error(
    rig: SftpRig, source: SshSource
) -> None:
    assert await source.list() == []
    await rig.server.restart()
    await wait_until(lambda: not source.connected)
    assert await source.list() == []  # no failure surfaced, no backoff
    assert source.next_retry_in() == 0
    assert rig.server.connections_accepted == 2


@pytest.fixture
async def proxy(rig: SftpRig) -> AsyncIterator[TcpProxy]:
    p = TcpProxy(rig.server.port)
    await p.start()
    yield p
    await p.stop()


async def test_black_holed_link_is_detected_by_keepalive(rig: SftpRig, proxy: TcpProxy) -> None:
    # known_hosts entries name the port: pin the same host key for the proxy's port.
    known = rig.server.known_hosts_path.with_name("known_hosts_proxy")
    known.write_text(rig.server.known_hosts_line(port=proxy.port))
    src = SshSource(
        rig.params(
            port=proxy.port, known_hosts=known, op_timeout=30, keepalive_interval=0.2, keepalive_count_max=2
        )
    )
    try:
        assert await src.list() == []
        proxy.blackhole = True
        started = time.monotonic()
        with pytest.raises(SourceUnavailable):
            await src.list()  # op_timeout is 30 s: only the keepalive can end this early
        assert time.monotonic() - started < 3.0
    finally:
        await src.close()


async def test_link_cut_mid_download_leaves_no_part_and_recovers(rig: SftpRig, proxy: TcpProxy) -> None:
    known = rig.server.known_hosts_path.with_name("known_hosts_proxy")
    known.write_text(rig.server.known_hosts_line(port=proxy.port))
    rig.write(R1, b"q" * 300_000)

    def cut_after_first_read(path: bytes, offset: int) -> None:
        if offset > 0:
            rig.faults.before_read = None
            proxy.cut()

    rig.faults.before_read = cut_after_first_read
    src = SshSource(rig.params(port=proxy.port, known_hosts=known))
    try:
        with pytest.raises(SourceUnavailable):
            await src.download(R1, dest_for(rig, R1), 300_000)
        assert no_parts(rig)
        assert not dest_for(rig, R1).exists()
        await asyncio.sleep(src.next_retry_in())
        assert (await src.download(R1, dest_for(rig, R1), 300_000)).size == 300_000
    finally:
        await src.close()


def test_backoff_is_capped_exponential_with_jitter() -> None:
    now = [100.0]
    lows = Backoff(1.0, 8.0, clock=lambda: now[0], jitter=lambda: 0.0)
    highs = Backoff(1.0, 8.0, clock=lambda: now[0], jitter=lambda: 1.0)
    assert [lows.failed() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert [highs.failed() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert highs.remaining() == 8.0
    now[0] += 5
    assert highs.remaining() == 3.0
    highs.succeeded()
    assert (highs.remaining(), highs.failures) == (0.0, 0)


async def test_missing_remote_dir_is_a_source_error_not_a_vanished_file(rig: SftpRig) -> None:
    src = SshSource(rig.params(remote_dir="/no/such/dir"))
    try:
        for call in (src.list, src.dir_mtime):
            with pytest.raises(SourceError, match="remote_dir /no/such/dir not found") as err:
                await call()
            assert not isinstance(err.value, RemoteFileChanged | SourceUnavailable)
        assert src.connected
    finally:
        await src.close()


async def test_same_size_rewrite_during_transfer_is_caught_by_the_re_stat(
    rig: SftpRig, source: SshSource
) -> None:
    data = b"a" * 200_000
    path = rig.write(R1, data, mtime=1_759_000_000)

    def rewrite_once(served: bytes, offset: int) -> None:
        if offset > 0:
            rig.faults.before_read = None
            path.write_bytes(b"b" * len(data))  # same size: only the mtime tells
            os.utime(path, (1_759_000_100, 1_759_000_100))

    rig.faults.before_read = rewrite_once
    with pytest.raises(RemoteFileChanged, match="changed during the transfer"):
        await source.download(R1, dest_for(rig, R1), len(data))
    assert not dest_for(rig, R1).exists()
    assert no_parts(rig)
