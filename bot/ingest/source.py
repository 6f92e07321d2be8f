"""The interface every stats source offers (an SSH server, a local folder): list, stat, download."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class RemoteEntry:
    """One directory entry as the source reports it. `mtime` is whole seconds (SFTPv3 resolution)."""

    name: str  # path relative to the source's root directory, '/'-separated (recursive listings)
    size: int
    mtime: int
    is_file: bool  # from the entry's attributes (SFTP type), never guessed from the name


@dataclass(frozen=True, slots=True)
class Changes:
    """A listing by a source that can tell what changed: `cursor` (the source's own clock when the listing
    started) asks the next call for only the entries created or changed since."""

    entries: list[RemoteEntry]
    cursor: int
    complete: bool  # True: every entry of the folder (asked with no cursor); False: only changed ones


@dataclass(frozen=True, slots=True)
class Downloaded:
    """A file fetched into its final local path: already fsynced and renamed from `.part`."""

    path: Path
    size: int
    sha256: str


class StatsSource(Protocol):
    """A place stats files come from. Implementations translate their library errors to SourceError."""

    @property
    def server(self) -> str:
        """The configured server name this source belongs to."""
        ...

    async def dir_mtime(self) -> int | None:
        """The watched directory's mtime (cheap: one stat), or None if the source cannot tell."""
        ...

    async def list(self) -> list[RemoteEntry]:
        """Every entry of the watched directory (recursing if configured), with attributes."""
        ...

    async def stat(self, name: str) -> RemoteEntry | None:
        """One entry's attributes, or None when it no longer exists."""
        ...

    async def download(self, name: str, dest: Path, expected_size: int) -> Downloaded:
        """Fetch `name` to `dest` via `dest.part` + fsync + rename, hashing on the way.

        Raises RemoteFileChanged when the byte count differs from `expected_size` or the remote
        file changed during the transfer; the `.part` file is removed in that case.
        """
        ...

    async def delete(self, name: str) -> None:
        """Remove a remote file (retention, only for files already imported)."""
        ...

    async def close(self) -> None:
        """Release connections; the source may be used again afterwards (it reconnects)."""
        ...


@runtime_checkable
class ChangeLister(Protocol):
    """Optional capability of a source: list only what changed since a cursor (SSH exec + `find`)."""

    async def list_changed(self, since: int | None) -> Changes | None:
        """Entries created or changed after `since` (a cursor from an earlier call; None: every entry).

        None when the source cannot do it (capability probed once and cached): the caller lists in full.
        """
        ...
