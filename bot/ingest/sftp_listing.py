"""A lean SFTP v3 directory reader: INIT, OPENDIR, pipelined READDIRs on an "sftp" channel of its own.

asyncssh's SFTP client builds an SFTPName and an SFTPAttrs object per entry (~25 µs each, DESIGN.md
"Listing cost"), so a 100,000-file folder costs seconds of client CPU per listing. This reader speaks
only the requests a listing needs (draft-ietf-secsh-filexfer-02, version 3) and decodes NAME replies
with struct.unpack_from straight into small tuples, skipping the longname. Everything else (stat,
downloads, removes) stays with asyncssh's client.

Errors: a STATUS reply raises the asyncssh SFTPError subclass asyncssh's own client would (so callers
map them the same way); a closed channel raises asyncssh.SFTPConnectionLost; a reply this reader does
not understand raises LeanListingError (the caller falls back to asyncssh's listing).
"""

from __future__ import annotations

import stat as statmod
import struct

import asyncssh

__all__ = ["Entry", "LeanListingError", "PacketBuffer", "decode_names", "read_dir"]

# (raw name, size, mtime, S_IFMT bits of the permissions; 0 when the server sent no permissions)
Entry = tuple[bytes, int, int, int]

FXP_INIT, FXP_VERSION, FXP_CLOSE, FXP_OPENDIR, FXP_READDIR = 1, 2, 4, 11, 12
FXP_STATUS, FXP_HANDLE, FXP_NAME = 101, 102, 104
FX_EOF, FX_NO_SUCH_FILE, FX_PERMISSION_DENIED = 1, 2, 3
_SIZE, _UIDGID, _PERMISSIONS, _ACMODTIME, _EXTENDED = 0x1, 0x2, 0x4, 0x8, 0x80000000

MAX_PACKET = 1 << 24  # far above any server's (OpenSSH: 256 KiB); a bigger length is a broken stream
WINDOW = 8  # READDIR requests in flight: hides the round trip behind the decoding of earlier replies
READ_BYTES = 1 << 18

_U32 = struct.Struct(">I").unpack_from
_U64 = struct.Struct(">Q").unpack_from
_HEADER = struct.Struct(">IBI")  # length, type, request id
_IFMT = statmod.S_IFMT(0o177777)
_COMMON_FLAGS = _SIZE | _UIDGID | _PERMISSIONS | _ACMODTIME
_COMMON = struct.Struct(">IQIIIII")  # flags, size, uid, gid, permissions, atime, mtime


class LeanListingError(Exception):
    """A reply the lean reader does not understand: not the server's answer to the question asked."""


def _packet(kind: int, request_id: int, *strings: bytes) -> bytes:
    body = b"".join(struct.pack(">I", len(s)) + s for s in strings)
    return _HEADER.pack(5 + len(body), kind, request_id) + body


class PacketBuffer:
    """Bytes as they arrive (any split) in, whole SFTP packets (type byte first) out."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        packets: list[bytes] = []
        start = 0
        while len(buf) - start >= 4:
            (length,) = _U32(buf, start)
            if not 0 < length <= MAX_PACKET:
                raise LeanListingError(f"packet length {length}")
            end = start + 4 + length
            if end > len(buf):
                break
            packets.append(bytes(buf[start + 4 : end]))
            start = end
        del buf[:start]
        return packets


def decode_names(packet: bytes, out: list[Entry]) -> None:
    """Append the entries of one NAME packet (type byte and request id included) to `out`."""
    try:
        (count,) = _U32(packet, 5)
        off = 9
        for _ in range(count):
            (n,) = _U32(packet, off)
            off += 4
            name = packet[off : off + n]
            off += n
            (n,) = _U32(packet, off)  # longname: skipped
            off += 4 + n
            try:
                flags, size, _uid, _gid, perm, _atime, mtime = _COMMON.unpack_from(packet, off)
            except struct.error:  # fewer bytes left than that layout: a shorter one, or a cut packet
                flags = -1
            if flags == _COMMON_FLAGS:  # what OpenSSH and asyncssh send for every entry: one unpack
                off += _COMMON.size
                out.append((name, size, mtime, perm & _IFMT))
            else:
                off = _decode_attrs(packet, off, name, out)
            if off > len(packet):
                raise LeanListingError("NAME entry runs past the packet")
    except struct.error as exc:
        raise LeanListingError(f"truncated NAME packet: {exc}") from None
    if off != len(packet):
        raise LeanListingError(f"{len(packet) - off} bytes after the last NAME entry")


def _decode_attrs(packet: bytes, off: int, name: bytes, out: list[Entry]) -> int:
    """Any other ATTRS layout, field by field; returns the offset after it."""
    (flags,) = _U32(packet, off)
    off += 4
    size = mtime = fmt = 0
    if flags & _SIZE:
        (size,) = _U64(packet, off)
        off += 8
    if flags & _UIDGID:
        off += 8
    if flags & _PERMISSIONS:
        (perm,) = _U32(packet, off)
        fmt = perm & _IFMT
        off += 4
    if flags & _ACMODTIME:
        (mtime,) = _U32(packet, off + 4)
        off += 8
    if flags & _EXTENDED:
        (pairs,) = _U32(packet, off)
        off += 4
        for _ in range(2 * pairs):
            (n,) = _U32(packet, off)
            off += 4 + n
    out.append((name, size, mtime, fmt))
    return off


def status_error(packet: bytes) -> asyncssh.SFTPError | None:
    """The error a STATUS packet reports, as asyncssh's client would raise it; None for EOF."""
    try:
        (code,) = _U32(packet, 5)
        (n,) = _U32(packet, 9) if len(packet) >= 13 else (0,)
        reason = packet[13 : 13 + n].decode("utf-8", "replace") or f"status {code}"
    except struct.error:
        raise LeanListingError("truncated STATUS packet") from None
    if code == FX_EOF:
        return None
    if code == FX_NO_SUCH_FILE:
        return asyncssh.SFTPNoSuchFile(reason)
    if code == FX_PERMISSION_DENIED:
        return asyncssh.SFTPPermissionDenied(reason)
    return asyncssh.SFTPError(code, reason)


class _Channel:
    def __init__(self, writer: asyncssh.SSHWriter[bytes], reader: asyncssh.SSHReader[bytes]) -> None:
        self._writer, self._reader = writer, reader
        self._buffer = PacketBuffer()
        self._ready: list[bytes] = []

    def send(self, data: bytes) -> None:
        self._writer.write(data)

    async def next(self) -> bytes:
        while not self._ready:
            data = await self._reader.read(READ_BYTES)
            if not data:
                raise asyncssh.SFTPConnectionLost("sftp channel closed during a listing")
            self._ready = self._buffer.feed(data)
            self._ready.reverse()
        return self._ready.pop()

    async def reply(self, request_id: int, *kinds: int) -> bytes:
        packet = await self.next()
        if len(packet) < 5 or packet[0] not in kinds or _U32(packet, 1)[0] != request_id:
            raise LeanListingError(f"unexpected reply type {packet[0]} to request {request_id}")
        return packet


async def read_dir(conn: asyncssh.SSHClientConnection, path: bytes, *, window: int = WINDOW) -> list[Entry]:
    """Every entry of the directory `path` ('.' and '..' included, as the server sends them)."""
    try:
        writer, reader, _ = await conn.open_session(subsystem="sftp", encoding=None)
    except asyncssh.ChannelOpenError as exc:
        raise LeanListingError(f"sftp channel refused: {exc.reason}") from exc
    try:
        return await _list(_Channel(writer, reader), path, window)
    except struct.error as exc:  # a reply shorter than its own fields say
        raise LeanListingError(f"truncated reply: {exc}") from None
    finally:
        writer.channel.close()  # ends the server's session too: the handle is freed without a CLOSE


async def _list(chan: _Channel, path: bytes, window: int) -> list[Entry]:
    chan.send(struct.pack(">IBI", 5, FXP_INIT, 3))
    version = await chan.next()
    if len(version) < 5 or version[0] != FXP_VERSION or _U32(version, 1)[0] != 3:
        raise LeanListingError("server did not answer INIT with VERSION 3")
    chan.send(_packet(FXP_OPENDIR, 1, path))
    opened = await chan.reply(1, FXP_HANDLE, FXP_STATUS)
    if opened[0] == FXP_STATUS:
        raise status_error(opened) or LeanListingError("OPENDIR answered with EOF")
    (n,) = _U32(opened, 5)
    handle = opened[9 : 9 + n]
    if len(opened) != 9 + n:
        raise LeanListingError("malformed HANDLE reply")
    entries: list[Entry] = []
    pending: set[int] = set()
    next_id = 2
    at_end = False
    for _ in range(max(1, window)):
        chan.send(_packet(FXP_READDIR, next_id, handle))
        pending.add(next_id)
        next_id += 1
    while pending:
        packet = await chan.next()
        if len(packet) < 5 or (request_id := _U32(packet, 1)[0]) not in pending:
            raise LeanListingError("reply to no READDIR in flight")
        pending.discard(request_id)
        if packet[0] == FXP_NAME:
            decode_names(packet, entries)
            if not at_end:  # replies come in order: a NAME after EOF would be a server's own business
                chan.send(_packet(FXP_READDIR, next_id, handle))
                pending.add(next_id)
                next_id += 1
        elif packet[0] == FXP_STATUS:
            error = status_error(packet)
            if error is not None:
                raise error
            at_end = True
        else:
            raise LeanListingError(f"unexpected reply type {packet[0]} to READDIR")
    chan.send(_packet(FXP_CLOSE, next_id, handle))
    return entries
