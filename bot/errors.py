"""The project's exception hierarchy: errors carry fields, not just text."""

from __future__ import annotations


class StatsbotError(Exception):
    """Base class of every error statsbot raises on purpose."""


class ConfigError(StatsbotError):
    """The configuration is invalid; `key` names the offending setting (dotted path)."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason
        super().__init__(f"config {key}: {reason}")


class ParseError(StatsbotError):
    """A stats file does not follow the format.

    `line` is 1-based (0 = the file as a whole, e.g. its name); `field` names the field
    (`header.time_limit`, `player.weapons`, `extras[22]`, ...). Parse errors are deterministic:
    retrying the same bytes gives the same error.
    """

    def __init__(self, file: str, line: int, field: str, reason: str) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.reason = reason
        where = f"line {line}" if line else "file"
        super().__init__(f"{file}: {where}, field {field}: {reason}")


class IncompleteFileError(ParseError):
    """The file looks cut short (no final newline, or a truncated last line): possibly still being written.

    Unlike other parse errors this one is worth retrying once the file has settled again.
    """


class SourceError(StatsbotError):
    """A stats source (SSH server or local folder) failed; `server` names it."""

    def __init__(self, server: str, reason: str) -> None:
        self.server = server
        self.reason = reason
        super().__init__(f"server {server}: {reason}")


class SourceUnavailable(SourceError):
    """The source cannot be reached right now (network, auth, timeout); retry later."""


class HostKeyError(SourceUnavailable):
    """The server's host key is unknown or changed: refused, never accepted silently."""


class RemoteDirMissing(SourceError):
    """The server answered, but the configured remote_dir does not exist there (a configuration problem)."""


class RemoteFileChanged(SourceError):
    """A remote file changed or vanished during download; the partial copy was discarded."""


class DatabaseError(StatsbotError):
    """The database is unusable (corrupt, newer schema, locked by another instance)."""
