"""StatsSource over a local folder (backfill, tests) with the same semantics as the SSH source."""

from __future__ import annotations

import asyncio
import os
import stat as statmod
from pathlib import Path

import structlog

from bot.errors import RemoteFileChanged, SourceError, SourceUnavailable
from bot.ingest.files import CHUNK_BYTES, PartFile, UnsafeName, sha256_file, unsafe_relpath_reason
from bot.ingest.source import Downloaded, RemoteEntry

log = structlog.get_logger(__name__)

MAX_DEPTH = 16

_Entries = list[RemoteEntry]  # spelled once here: inside LocalSource, `list` is the method


class LocalSource:
    """The StatsSource protocol over `root`. Symlinks are never followed; blocking I/O runs in a thread."""

    def __init__(self, server: str, root: Path, recursive: bool = False) -> None:
        self._server = server
        self._root = root
        self._recursive = recursive

    @property
    def server(self) -> str:
        return self._server

    @property
    def root(self) -> Path:
        return self._root

    async def dir_mtime(self) -> int | None:
        try:
            return int((await asyncio.to_thread(os.stat, self._root)).st_mtime)
        except OSError as exc:
            raise SourceUnavailable(self._server, f"cannot stat {self._root}: {exc}") from exc

    async def list(self) -> _Entries:
        try:
            return await asyncio.to_thread(self._scan)
        except OSError as exc:
            raise SourceUnavailable(self._server, f"cannot list {self._root}: {exc}") from exc

    async def stat(self, name: str) -> RemoteEntry | None:
        path = self._path(name)
        try:
            st = await asyncio.to_thread(os.lstat, path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SourceError(self._server, f"cannot stat {name}: {exc}") from exc
        return RemoteEntry(name, st.st_size, int(st.st_mtime), statmod.S_ISREG(st.st_mode))

    async def download(self, name: str, dest: Path, expected_size: int) -> Downloaded:
        path = self._path(name)
        try:
            return await asyncio.to_thread(self._download, name, path, dest, expected_size)
        except OSError as exc:
            raise SourceError(self._server, f"cannot read {name}: {exc}") from exc

    async def delete(self, name: str) -> None:
        path = self._path(name)
        try:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        except OSError as exc:
            raise SourceError(self._server, f"cannot remove {name}: {exc}") from exc

    async def close(self) -> None:
        return None

    def _path(self, name: str) -> Path:
        reason = unsafe_relpath_reason(name)
        if reason is None and "/" in name and not self._recursive:
            reason = "subfolders are not watched (recursive = false)"
        if reason is not None:
            raise UnsafeName(self._server, name, reason)
        return self._root / name

    def _scan(self) -> _Entries:
        out: _Entries = []
        pending: list[tuple[Path, str, int]] = [(self._root, "", 0)]
        while pending:
            folder, prefix, depth = pending.pop()
            with os.scandir(folder) as entries:
                for entry in entries:
                    rel = f"{prefix}/{entry.name}" if prefix else entry.name
                    st = entry.stat(follow_symlinks=False)
                    out.append(
                        RemoteEntry(rel, st.st_size, int(st.st_mtime), entry.is_file(follow_symlinks=False))
                    )
                    if self._recursive and entry.is_dir(follow_symlinks=False) and depth < MAX_DEPTH:
                        pending.append((Path(entry.path), rel, depth + 1))
        return out

    def _download(self, name: str, path: Path, dest: Path, expected: int) -> Downloaded:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError as exc:
            raise RemoteFileChanged(self._server, f"{name}: vanished") from exc
        except OSError as exc:  # ELOOP: a symlink, never followed
            raise RemoteFileChanged(self._server, f"{name}: cannot open as a regular file: {exc}") from exc
        with os.fdopen(fd, "rb") as src:
            before = os.fstat(src.fileno())
            if not statmod.S_ISREG(before.st_mode):
                raise RemoteFileChanged(self._server, f"{name}: not a regular file")
            if before.st_size != expected:
                raise RemoteFileChanged(self._server, f"{name}: size {before.st_size}, listed {expected}")
            if _same_file(dest, before):
                # Importing in place (local_stats itself): hashing is the whole "download".
                size, digest = sha256_file(path, limit=expected)
                if size != expected:
                    raise RemoteFileChanged(self._server, f"{name}: changed while hashing")
                return Downloaded(path=dest, size=size, sha256=digest)
            with PartFile(self._server, dest) as part:
                while chunk := src.read(min(CHUNK_BYTES, expected + 1 - part.size)):
                    part.write(chunk)
                    if part.size > expected:
                        raise RemoteFileChanged(self._server, f"{name}: grew during the copy")
                after = os.stat(path, follow_symlinks=False)
                if part.size != expected or (after.st_size, after.st_mtime_ns) != (
                    before.st_size,
                    before.st_mtime_ns,
                ):
                    raise RemoteFileChanged(self._server, f"{name}: changed during the copy")
                return part.commit()


def _same_file(dest: Path, st: os.stat_result) -> bool:
    try:
        other = os.stat(dest)
    except OSError:
        return False
    return (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino)
