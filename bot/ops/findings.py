"""What the four-location comparison finds: kinds of difference, each with files and advice (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.ops.locations import REMOTE_NOT_TRIED, ServerSnapshot, file_date


class Kind(StrEnum):
    """The kinds of difference between the locations, in report order."""

    REMOTE_UNREACHABLE = "remote_unreachable"
    REMOTE_FOLDER_MISSING = "remote_folder_missing"
    REMOTE_NOT_CHECKED = "remote_not_checked"
    REMOTE_EMPTY = "remote_empty"
    REMOTE_UNPROCESSED = "remote_unprocessed"
    REMOTE_IN_FLIGHT = "remote_in_flight"
    CHANGED_AFTER_IMPORT = "changed_after_import"
    MTIME_ONLY = "mtime_only"
    GONE_FROM_SERVER = "gone_from_server"
    GONE_ON_PURPOSE = "gone_on_purpose"
    IMPORTED_ELSEWHERE = "imported_elsewhere"
    IMPORTED_WITHOUT_ROUND = "imported_without_round"
    ROUND_WITHOUT_REGISTRY = "round_without_registry"
    LOCAL_UNREGISTERED = "local_unregistered"
    MISSING_LOCALLY = "missing_locally"
    FAILED = "failed"
    QUARANTINED = "quarantined"
    REJECTED_NAMES = "rejected_names"
    STALE_ROUNDS = "stale_rounds"


TITLES: Mapping[Kind, str] = {
    Kind.REMOTE_UNREACHABLE: "server unreachable: remote unknown",
    Kind.REMOTE_FOLDER_MISSING: "remote folder not found: remote unknown",
    Kind.REMOTE_NOT_CHECKED: "remote not checked",
    Kind.REMOTE_EMPTY: "remote folder empty, files imported",
    Kind.REMOTE_UNPROCESSED: "on the server but never processed",
    Kind.REMOTE_IN_FLIGHT: "new on the server, being imported (in flight)",
    Kind.CHANGED_AFTER_IMPORT: "changed on the server after import",
    Kind.MTIME_ONLY: "new mtime on the server, same size",
    Kind.GONE_FROM_SERVER: "imported, gone from the server",
    Kind.GONE_ON_PURPOSE: "imported, deleted from the server on purpose",
    Kind.IMPORTED_ELSEWHERE: "imported from a folder, never on the server",
    Kind.IMPORTED_WITHOUT_ROUND: "registry says imported but no round",
    Kind.ROUND_WITHOUT_REGISTRY: "round with no (or a wrong) registry row",
    Kind.LOCAL_UNREGISTERED: "in local_stats/ but not in the registry",
    Kind.MISSING_LOCALLY: "processed but missing locally",
    Kind.FAILED: "failed, will be retried",
    Kind.QUARANTINED: "quarantined",
    Kind.REJECTED_NAMES: "on the server, not a stats file name",
    Kind.STALE_ROUNDS: "made by an older parser version",
}


@dataclass(frozen=True, slots=True)
class Difference:
    """One kind of difference: the files, their date range (from the names) and what to do about it."""

    kind: Kind
    files: tuple[str, ...]
    first_date: str | None
    last_date: str | None
    matters: bool  # False: harmless, reported for completeness
    recommendation: str
    errors: Mapping[str, str] = field(default_factory=dict)  # file -> last_error / reason

    @property
    def count(self) -> int:
        return len(self.files)

    @property
    def title(self) -> str:
        return TITLES[self.kind]

    @property
    def date_range(self) -> str:
        if self.first_date is None or self.last_date is None:
            return "-"
        if self.first_date == self.last_date:
            return self.first_date
        return f"{self.first_date}…{self.last_date}"


@dataclass(frozen=True, slots=True)
class Counts:
    """The four headline counts of one server."""

    remote: int | None  # None: unknown (server unreachable)
    local: int
    local_compressed: int
    registry: Mapping[str, int]  # by state
    rounds: int

    @property
    def registry_total(self) -> int:
        return sum(self.registry.values())


@dataclass(frozen=True, slots=True)
class ServerReport:
    """The comparison result for one server."""

    server: str
    reachable: bool
    remote_error: str | None
    counts: Counts
    differences: tuple[Difference, ...]

    @property
    def healthy(self) -> bool:
        """True when nothing that matters differs (harmless differences allowed). An unreachable server is
        itself a difference that matters, so the verdict always follows the lines shown."""
        return not any(d.matters for d in self.differences)

    def difference(self, kind: Kind) -> Difference | None:
        return next((d for d in self.differences if d.kind == kind), None)


def _date_range(names: Iterable[str]) -> tuple[str | None, str | None]:
    dates = sorted(d for d in map(file_date, names) if d is not None)
    return (dates[0], dates[-1]) if dates else (None, None)


def make_difference(
    kind: Kind,
    names: Iterable[str],
    *,
    matters: bool,
    recommendation: str,
    errors: Mapping[str, str] | None = None,
) -> Difference:
    files = tuple(sorted(names))
    first, last = _date_range(files)
    return Difference(kind, files, first, last, matters, recommendation, dict(errors or {}))


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def files_phrase(names: list[str]) -> str:
    return plural(len(names), "file")


def span(files: Iterable[str]) -> str:
    first, last = _date_range(files)
    if first is None or last is None:
        return ""
    return f", {first}" if first == last else f", {first}…{last}"


def remote_unknown(snap: ServerSnapshot) -> Difference:
    """The server could not be listed (a marked line with what to do) or was not asked (harmless)."""
    error = snap.remote_error or "unreachable"
    if error in REMOTE_NOT_TRIED:
        return make_difference(
            Kind.REMOTE_NOT_CHECKED,
            (),
            matters=False,
            recommendation=f"remote of {snap.server} {error}: the server-side columns are unknown",
        )
    if snap.remote_dir_missing:
        return make_difference(
            Kind.REMOTE_FOLDER_MISSING,
            (),
            matters=True,
            recommendation=remote_dir_missing_advice(
                snap.server, snap.address, snap.remote_dir, snap.config_index
            ),
        )
    last = snap.last_poll_error
    seen = f"; the daemon's last poll failed too: {last}" if last and last != error else ""
    return make_difference(
        Kind.REMOTE_UNREACHABLE,
        (),
        matters=True,
        recommendation=f"listing {snap.server} failed: {error}{seen} → {_remote_advice(snap, error, last)}",
    )


def _remote_advice(snap: ServerSnapshot, error: str, last: str | None) -> str:
    text = f"{error} {last or ''}".lower()
    host, port = snap.address or ("HOST", 22)
    if "host key" in text or "known_hosts" in text:
        return (
            f"update known_hosts: `ssh-keyscan -p {port} {host}`, compare the fingerprint with the one the "
            "server's admin reads from the server itself, then replace the old line (never accept blindly)"
        )
    if "authentication" in text or "private key" in text:
        return (
            "check username and private_key in the config and the public key in the server's authorized_keys"
        )
    return (
        f"check that {host}:{port} is up and reachable from here (`ssh -p {port} {host}`); "
        "the daemon keeps retrying with backoff"
    )


def remote_dir_missing_advice(
    server: str, address: tuple[str, int] | None, remote_dir: str | None, index: int | None
) -> str:
    """The advice for a server that answered but has no `remote_dir` (diagnose, sync, `once`)."""
    key = "servers[N].remote_dir" if index is None else f"servers[{index}].remote_dir"
    host, port = address or ("HOST", 22)
    return (
        f"{server}: the server {host}:{port} answered, but the folder {remote_dir or '(remote_dir)'} "
        f"does not exist there → fix `{key}` in the config (the path as the SSH user sees it), or create "
        "the folder on the server"
    )
