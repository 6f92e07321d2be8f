"""Local-file helpers for sources: safe local paths, atomic `.part` writes, sha256, orphan cleanup."""

from __future__ import annotations

import contextlib
import hashlib
import os
from io import BufferedWriter
from pathlib import Path
from types import TracebackType

import structlog

from bot.errors import SourceError
from bot.ingest.source import Downloaded
from bot.stats.names import unsafe_name_reason

log = structlog.get_logger(__name__)

PART_SUFFIX = ".part"
CHUNK_BYTES = 64 * 1024


class UnsafeName(SourceError):
    """A name (remote file or configured server) that must never become a path; nothing was touched."""

    def __init__(self, server: str, name: str, reason: str) -> None:
        self.name = name
        super().__init__(server, f"unsafe name {name!r}: {reason}")


class FileTooLarge(SourceError):
    """A remote file is larger than `max_file_bytes`: deterministic until the file changes."""

    def __init__(self, server: str, name: str, size: int, limit: int) -> None:
        self.name = name
        self.size = size
        self.limit = limit
        super().__init__(server, f"{name}: {size} bytes exceeds the {limit}-byte limit")


class LocalWriteError(SourceError):
    """Writing the local copy failed (disk full, permissions): the source itself is fine."""


def unsafe_relpath_reason(name: str) -> str | None:
    """Why a '/'-separated relative name must not be used as a path, or None when every part is safe."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        # Names come from remote bytes decoded with surrogateescape: a lone surrogate means "not UTF-8".
        return "name is not valid UTF-8"
    if not name:
        return "empty name"
    for part in name.split("/"):
        reason = unsafe_name_reason(part)
        if reason is not None:
            return reason
    return None


def part_path(dest: Path) -> Path:
    """Where a download into `dest` is staged: the same folder, so the final rename is atomic."""
    return dest.with_name(dest.name + PART_SUFFIX)


def safe_local_path(local_stats: Path, server: str, name: str) -> Path:
    """`local_stats/<server>/<name>`, refused (UnsafeName) unless every part is safe and it stays inside."""
    for label, value in (("server", server), ("file", name)):
        reason = unsafe_name_reason(value) if label == "server" else unsafe_relpath_reason(value)
        if reason is not None:
            raise UnsafeName(server, value, f"{label} name: {reason}")
    # resolve() follows any symlink already planted under local_stats: such a path is refused too.
    root = local_stats.resolve()
    path = (root / server / name).resolve()
    if not path.is_relative_to(root / server) or path == root / server:
        raise UnsafeName(server, name, f"resolves outside {root / server}")
    return path


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside `path` durable (POSIX: the directory entry needs its own fsync)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class PartFile:
    """Write `dest` atomically: bytes go to `dest.part` (hashed on the way), `commit()` renames into place.

    Leaving the `with` block without a successful commit removes the `.part` file, whatever the cause.
    Local I/O failures are raised as LocalWriteError so callers never mistake them for a source failure.
    """

    __slots__ = ("_committed", "_dest", "_file", "_hash", "_part", "_server", "size")

    def __init__(self, server: str, dest: Path) -> None:
        self._server = server
        self._dest = dest
        self._part = part_path(dest)
        self._hash = hashlib.sha256()
        self._file: BufferedWriter | None = None
        self._committed = False
        self.size = 0

    def __enter__(self) -> PartFile:
        try:
            self._dest.parent.mkdir(parents=True, exist_ok=True)
            # O_NOFOLLOW: a symlink planted at the .part path must not redirect the write elsewhere.
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
            self._file = os.fdopen(os.open(self._part, flags, 0o644), "wb")  # closed by commit()/discard()
        except OSError as exc:
            raise LocalWriteError(self._server, f"cannot create {self._part}: {exc}") from exc
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._committed:
            self.discard()

    def write(self, chunk: bytes) -> None:
        """Append `chunk` to the `.part` file and the running hash."""
        self._hash.update(chunk)
        self.size += len(chunk)
        try:
            self._handle().write(chunk)
        except OSError as exc:
            raise LocalWriteError(self._server, f"cannot write {self._part}: {exc}") from exc

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def commit(self) -> Downloaded:
        """fsync the `.part`, rename it onto `dest`, fsync the folder. Blocking: run it in a thread."""
        handle = self._handle()
        try:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            os.replace(self._part, self._dest)
            fsync_dir(self._dest.parent)
        except OSError as exc:
            raise LocalWriteError(self._server, f"cannot finish {self._dest}: {exc}") from exc
        self._committed = True
        return Downloaded(path=self._dest, size=self.size, sha256=self.sha256)

    def discard(self) -> None:
        """Close and remove the `.part` file (idempotent; never raises for a file already gone)."""
        if self._file is not None:
            # Closing flushes what is buffered: on a full disk that fails again, and must not replace
            # the LocalWriteError being raised (the caller would blame the server for an OSError).
            with contextlib.suppress(OSError):
                self._file.close()
        try:
            self._part.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("part_file_not_removed", server=self._server, path=str(self._part), error=str(exc))

    def _handle(self) -> BufferedWriter:
        if self._file is None:
            raise RuntimeError("PartFile used outside its with-block")
        return self._file


def sha256_file(path: Path, limit: int | None = None) -> tuple[int, str]:
    """(size, sha256 hex) of a local file, streamed; stops reading after `limit + 1` bytes when given."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
            if limit is not None and size > limit:
                break
    return size, digest.hexdigest()


def remove_orphan_parts(root: Path) -> list[Path]:
    """Delete every `*.part` file under `root` (left by a crash mid-download); returns what was removed."""
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for part in root.rglob(f"*{PART_SUFFIX}"):
        if part.is_file() and not part.is_symlink():
            part.unlink(missing_ok=True)
            removed.append(part)
    for folder in {part.parent for part in removed}:
        fsync_dir(folder)
    if removed:
        log.info("orphan_parts_removed", root=str(root), count=len(removed))
    return removed
