"""The lean SFTP listing reader: its decoder on exact bytes, and SshSource listing through it."""

from __future__ import annotations

import functools
import os
import stat as statmod
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest
import structlog

from bot.errors import RemoteDirMissing, SourceError
from bot.ingest import sftp_listing
from bot.ingest.sftp_listing import LeanListingError, PacketBuffer, decode_names, status_error
from bot.ingest.ssh_source import SshSource
from tests.helpers.sftp import FaultySftpServer, SftpRig, sftp_rig

R1 = "2025-10-02-232339-erdenberg_t2-round-1.txt"


def s(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def name_packet(*entries: bytes, request_id: int = 7) -> bytes:
    return bytes([sftp_listing.FXP_NAME]) + struct.pack(">II", request_id, len(entries)) + b"".join(entries)


def entry(name: bytes, flags: int, *attrs: bytes, longname: bytes = b"-rw-r--r-- 1 x x 5 Jan 1 x") -> bytes:
    return s(name) + s(longname) + struct.pack(">I", flags) + b"".join(attrs)


def test_packets_split_anywhere_come_out_whole() -> None:
    packets = [b"\x65" + bytes(range(20)), b"\x68" + b"x" * 300, b"\x02\x00\x00\x00\x03"]
    stream = b"".join(s(p) for p in packets)
    for step in (1, 2, 3, 7, 64, len(stream)):
        buf = PacketBuffer()
        got = [p for i in range(0, len(stream), step) for p in buf.feed(stream[i : i + step])]
        assert got == packets, step


def test_absurd_packet_length_is_a_protocol_error() -> None:
    with pytest.raises(LeanListingError, match="packet length"):
        PacketBuffer().feed(struct.pack(">I", 1 << 30) + b"x")


def test_name_packet_decodes_every_attribute_layout() -> None:
    reg, link, folder = statmod.S_IFREG | 0o644, statmod.S_IFLNK | 0o777, statmod.S_IFDIR | 0o755
    packet = name_packet(
        entry(b"all.txt", 0xF, struct.pack(">QIIIII", 5, 1000, 1000, reg, 11, 1_700_000_000)),
        entry(b"link", 0x4 | 0x8, struct.pack(">III", link, 0, 1_600_000_000)),
        entry(b"dir", 0x4, struct.pack(">I", folder)),
        entry(b"bare", 0),  # no attributes at all: size 0, mtime 0, not a regular file
        entry(b"\xff.txt", 0x1 | 0x80000000, struct.pack(">QI", 9, 2) + s(b"a") + s(b"b") + s(b"c") + s(b"")),
    )
    out: list[sftp_listing.Entry] = []
    decode_names(packet, out)
    assert out == [
        (b"all.txt", 5, 1_700_000_000, statmod.S_IFREG),
        (b"link", 0, 1_600_000_000, statmod.S_IFLNK),
        (b"dir", 0, 0, statmod.S_IFDIR),
        (b"bare", 0, 0, 0),
        (b"\xff.txt", 9, 0, 0),
    ]


@pytest.mark.parametrize("cut", [1, 4, 10, 20])
def test_truncated_or_padded_name_packet_is_a_protocol_error(cut: int) -> None:
    packet = name_packet(entry(b"a.txt", 0x1, struct.pack(">Q", 5)))
    with pytest.raises(LeanListingError):
        decode_names(packet[:-cut], [])
    with pytest.raises(LeanListingError, match="after the last"):
        decode_names(packet + b"\x00", [])


def test_status_codes_map_to_asyncssh_errors() -> None:
    def status(code: int, reason: bytes = b"why") -> bytes:
        return b"\x65" + struct.pack(">II", 3, code) + s(reason) + s(b"en")

    assert status_error(status(sftp_listing.FX_EOF)) is None
    assert isinstance(status_error(status(2)), asyncssh.SFTPNoSuchFile)
    assert isinstance(status_error(status(3)), asyncssh.SFTPPermissionDenied)
    failure = status_error(b"\x65" + struct.pack(">II", 3, 4))  # reason and language left out
    assert isinstance(failure, asyncssh.SFTPError)
    assert failure.code == 4


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[SftpRig]:
    async with sftp_rig(tmp_path) as r:
        yield r


async def test_lean_listing_matches_asyncssh_on_the_real_server(rig: SftpRig) -> None:
    """Hundreds of entries (several READDIR replies in flight), a folder, a symlink, a non-UTF-8 name."""
    for i in range(300):
        rig.write(f"2025-10-02-{i:06d}-supply-round-1.txt", b"x" * i, mtime=1_700_000_000 + i)
    rig.write(R1, b"r1")
    (rig.stats_dir / "sub").mkdir()
    (rig.stats_dir / "link.txt").symlink_to(rig.stats_dir / R1)
    (rig.stats_dir / os.fsdecode(b"bad-\xff.txt")).write_bytes(b"1")
    src = SshSource(rig.params(exec_listing=False))
    try:
        lean = {e.name: e for e in await src.list()}
        assert src._lean_ok  # the lean reader gave this listing
        src._lean_ok = False
        stock = {e.name: e for e in await src.list()}
    finally:
        await src.close()
    assert lean == stock
    assert len(lean) == 304
    assert lean["sub"].is_file is False
    assert lean["link.txt"].is_file is False
    assert lean["2025-10-02-000299-supply-round-1.txt"].size == 299
    assert lean["2025-10-02-000299-supply-round-1.txt"].mtime == 1_700_000_299
    assert "bad-\udcff.txt" in lean  # surrogate-escaped as before: refused later by the name checks


async def test_missing_folder_through_the_lean_reader(rig: SftpRig) -> None:
    src = SshSource(rig.params(remote_dir="/nowhere", exec_listing=False))
    try:
        with pytest.raises(RemoteDirMissing):
            await src.list()
        assert src._lean_ok
        assert src.connected
    finally:
        await src.close()


class _FailingListing(FaultySftpServer):
    async def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:
        count = 0
        async for name in super().scandir(path):
            yield name
            count += 1
            if count == 200:  # past the first READDIR reply: an error in the middle of the listing
                raise asyncssh.SFTPFailure("disk on fire")


async def test_status_error_mid_listing_is_a_source_error_and_keeps_the_connection(rig: SftpRig) -> None:
    for i in range(300):
        rig.write(f"2025-10-02-{i:06d}-supply-round-1.txt", b"x")
    rig.server.sftp_factory = functools.partial(_FailingListing, faults=rig.faults)
    src = SshSource(rig.params(exec_listing=False))
    try:
        with pytest.raises(SourceError, match="disk on fire") as err:
            await src.list()
        assert type(err.value) is SourceError  # not SourceUnavailable: the session is fine
        assert src.connected
        assert src._lean_ok
    finally:
        await src.close()


async def test_reader_falls_back_to_asyncssh_once_on_a_reply_it_does_not_understand(
    rig: SftpRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig.write(R1, b"12345")
    monkeypatch.setattr(sftp_listing, "MAX_PACKET", 8)  # every real reply now looks like a broken stream
    src = SshSource(rig.params(exec_listing=False))
    try:
        with structlog.testing.capture_logs() as logs:
            first = await src.list()
            second = await src.list()
    finally:
        await src.close()
    assert (
        [(e.name, e.size, e.is_file) for e in first]
        == [(R1, 5, True)]
        == [(e.name, e.size, e.is_file) for e in second]
    )
    assert [entry["event"] for entry in logs].count("lean_listing_failed") == 1


async def test_a_defect_in_the_reader_falls_back_instead_of_failing_the_poll(
    rig: SftpRig, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig.write(R1, b"12345")

    def broken(packet: bytes, out: list[sftp_listing.Entry]) -> None:
        raise IndexError("a bug of ours")

    monkeypatch.setattr(sftp_listing, "decode_names", broken)
    src = SshSource(rig.params(exec_listing=False))
    try:
        with structlog.testing.capture_logs() as logs:
            listed = await src.list()
    finally:
        await src.close()
    assert [(e.name, e.size) for e in listed] == [(R1, 5)]
    assert [e["reason"] for e in logs if e["event"] == "lean_listing_failed"] == ["IndexError: a bug of ours"]
