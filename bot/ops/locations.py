"""The four locations of one server as plain values (what diagnose reads), and the file-name helpers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.errors import ParseError
from bot.stats.names import parse_filename, unsafe_name_reason

# Registry states after which nothing more happens to a file on its own.
DONE_STATES = frozenset({"imported", "duplicate", "ignored"})
IN_PROGRESS_STATES = frozenset({"seen", "downloaded"})

# remote_error values meaning nobody tried to list the server (not a failure).
NOT_CONFIGURED = "not configured"
NOT_CHECKED = "remote not checked"
DISABLED = "server disabled"
REMOTE_NOT_TRIED = frozenset({NOT_CONFIGURED, NOT_CHECKED, DISABLED})


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """A file as the game server lists it."""

    name: str
    size: int
    mtime: int


@dataclass(frozen=True, slots=True)
class LocalFile:
    """A copy in local_stats/<server>/; `compressed` when retention gzipped it to `<name>.gz`."""

    name: str
    size: int
    compressed: bool = False


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """One processed_files row."""

    name: str
    state: str
    size: int | None = None
    mtime: int | None = None
    sha256: str | None = None
    attempts: int = 0
    last_error: str | None = None
    round_id: int | None = None
    updated_at: float = 0.0
    remote_gone_at: float | None = None  # recorded as no longer on the server (by the daemon, retention)
    remote_gone_by: str | None = None  # 'server' | 'retention' | 'operator'
    first_seen_at: float = 0.0  # when the daemon first listed it


@dataclass(frozen=True, slots=True)
class RoundEntry:
    """One imported round, by the file it came from."""

    id: int
    name: str
    sha256: str
    size: int | None = None  # length of the stored raw content, when loaded (only where sizes disagree)
    parser_version: int | None = None  # bot.stats.version.PARSER_VERSION of the parser that made it


@dataclass(frozen=True, slots=True)
class ServerSnapshot:
    """What each of the four locations holds for one server. `remote` None = the server was unreachable."""

    server: str
    remote: Mapping[str, RemoteFile] | None
    local: Mapping[str, LocalFile]
    registry: Mapping[str, RegistryEntry]
    rounds: Mapping[str, RoundEntry]
    remote_error: str | None = None
    last_poll_error: str | None = None  # server_status: why the daemon's last poll failed, if it did
    address: tuple[str, int] | None = None  # (host, port) from the config, for the known_hosts advice
    # Names the daemon ever saw on the server (listed, downloaded): None = unknown, all count as seen.
    from_server: frozenset[str] | None = None
    remote_dir_missing: bool = False  # the server answered, the configured folder does not exist
    remote_dir: str | None = None
    config_index: int | None = None  # N of servers[N] in the config, for advice naming the key
    # New files first seen (or, unlisted by the daemon, modified) less than `in_flight_seconds` before
    # `now` are being imported by the running daemon, not a problem; None: no such bound (all are new).
    now: float | None = None
    in_flight_seconds: float | None = None
    local_disk_alert: str | None = None  # the open local_disk alert's message: downloads cannot be written


def _base(name: str) -> str:
    # Recursive listings name files 'sub/<file>': the grammar applies to the last part.
    return name.rsplit("/", 1)[-1]


def file_date(name: str) -> str | None:
    """The YYYY-MM-DD of a stats file name, None when the name does not parse."""
    try:
        return f"{parse_filename(_base(name)).played_at:%Y-%m-%d}"
    except ParseError:
        return None


def is_stats_name(name: str) -> bool:
    """True for a name the pipeline accepts (stats file or companion)."""
    if any(unsafe_name_reason(part) for part in name.split("/")):
        return False
    try:
        parse_filename(_base(name))
    except ParseError:
        return False
    return True
