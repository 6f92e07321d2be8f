"""The pure four-location comparison (server, local_stats/, registry, rounds) behind `statsbot diagnose`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from bot.ops.locations import (
    DONE_STATES,
    IN_PROGRESS_STATES,
    LocalFile,
    RegistryEntry,
    RemoteFile,
    RoundEntry,
    ServerSnapshot,
    file_date,
    is_stats_name,
)

__all__ = [
    "DONE_STATES",
    "IN_PROGRESS_STATES",
    "Counts",
    "Difference",
    "Kind",
    "LocalFile",
    "RegistryEntry",
    "RemoteFile",
    "RoundEntry",
    "ServerReport",
    "ServerSnapshot",
    "compare",
    "file_date",
    "is_stats_name",
    "registry_problem",
]


# Registry states after which nothing more happens to a file on its own.
class Kind(StrEnum):
    """The kinds of difference between the locations, in report order."""

    REMOTE_UNPROCESSED = "remote_unprocessed"
    CHANGED_AFTER_IMPORT = "changed_after_import"
    IMPORTED_WITHOUT_ROUND = "imported_without_round"
    ROUND_WITHOUT_REGISTRY = "round_without_registry"
    LOCAL_UNREGISTERED = "local_unregistered"
    MISSING_LOCALLY = "missing_locally"
    FAILED = "failed"
    QUARANTINED = "quarantined"
    REJECTED_NAMES = "rejected_names"


TITLES: Mapping[Kind, str] = {
    Kind.REMOTE_UNPROCESSED: "on the server but never processed",
    Kind.CHANGED_AFTER_IMPORT: "changed on the server after import",
    Kind.IMPORTED_WITHOUT_ROUND: "registry says imported but no round",
    Kind.ROUND_WITHOUT_REGISTRY: "round with no (or a wrong) registry row",
    Kind.LOCAL_UNREGISTERED: "in local_stats/ but not in the registry",
    Kind.MISSING_LOCALLY: "processed but missing locally",
    Kind.FAILED: "failed, will be retried",
    Kind.QUARANTINED: "quarantined",
    Kind.REJECTED_NAMES: "on the server, not a stats file name",
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
        """True when nothing that matters differs (harmless differences allowed) and the server answered."""
        return self.reachable and not any(d.matters for d in self.differences)

    def difference(self, kind: Kind) -> Difference | None:
        return next((d for d in self.differences if d.kind == kind), None)


def _date_range(names: Iterable[str]) -> tuple[str | None, str | None]:
    dates = sorted(d for d in map(file_date, names) if d is not None)
    return (dates[0], dates[-1]) if dates else (None, None)


def _difference(
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


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _files(names: list[str]) -> str:
    return _plural(len(names), "file")


def _span(files: Iterable[str]) -> str:
    first, last = _date_range(files)
    if first is None or last is None:
        return ""
    return f", {first}" if first == last else f", {first}…{last}"


def registry_problem(row: RegistryEntry | None, rnd: RoundEntry) -> str | None:
    """Why the registry row of a file with an imported round is wrong; None when it is right."""
    if row is None:
        return "round exists, no registry row"
    if row.state == "quarantined" and row.sha256 is not None and row.sha256 != rnd.sha256:
        return None  # a new version arrived after import: quarantined on purpose, the round is kept
    if row.state != "imported":
        return f"round exists, registry says {row.state}"
    if row.sha256 is not None and row.sha256 != rnd.sha256:
        return "registry hash differs from the round's"
    if row.round_id != rnd.id:
        return f"registry points to round {row.round_id}"
    return None


def compare(snap: ServerSnapshot) -> ServerReport:
    """Compare the four locations of one server; every difference carries its files and a recommendation."""
    srv = snap.server
    reg, rounds, local = snap.registry, snap.rounds, snap.local
    found: list[Difference] = []

    def add(
        kind: Kind, names: list[str], matters: bool, advice: str, errors: Mapping[str, str] | None = None
    ) -> None:
        if names:
            found.append(_difference(kind, names, matters=matters, recommendation=advice, errors=errors))

    if snap.remote is not None:
        valid = [n for n in snap.remote if is_stats_name(n)]
        valid_set = set(valid)
        rejected = [n for n in snap.remote if n not in valid_set]
        unprocessed = [
            n for n in valid if (n not in reg or reg[n].state in IN_PROGRESS_STATES) and n not in rounds
        ]
        changed = [
            n
            for n in valid
            if n in reg
            and reg[n].state == "imported"
            and (
                (reg[n].size is not None and reg[n].size != snap.remote[n].size)
                or (reg[n].mtime is not None and reg[n].mtime != snap.remote[n].mtime)
            )
        ]
        add(
            Kind.REMOTE_UNPROCESSED,
            unprocessed,
            True,
            f"{_files(unprocessed)} on the server never processed{_span(unprocessed)}: the running daemon "
            f"picks them up; `statsbot sync --server {srv}` imports them now",
        )
        add(
            Kind.CHANGED_AFTER_IMPORT,
            changed,
            True,
            f"{_files(changed)} changed on the server after import{_span(changed)}: check them; "
            f"`statsbot reprocess --server {srv} --source remote FILE` imports the new version",
            {n: _changed_detail(reg[n], snap.remote[n]) for n in changed},
        )
        add(
            Kind.REJECTED_NAMES,
            rejected,
            False,
            f"{_plural(len(rejected), 'other name')} on the server, not stats files: "
            "never downloaded (harmless)",
        )

    no_round = [n for n, r in reg.items() if r.state == "imported" and n not in rounds]
    recoverable = [n for n in no_round if n in local or (snap.remote is not None and n in snap.remote)]
    add(
        Kind.IMPORTED_WITHOUT_ROUND,
        no_round,
        True,
        f"{_files(no_round)} marked imported but without a round{_span(no_round)} (data deleted or database "
        f"restored): `statsbot registry repair --apply` resets them, then `statsbot sync --server {srv}` "
        f"re-imports the {len(recoverable)} that still have a local or remote copy",
    )
    wrong = [n for n, rnd in rounds.items() if registry_problem(reg.get(n), rnd) is not None]
    add(
        Kind.ROUND_WITHOUT_REGISTRY,
        wrong,
        True,
        f"{_plural(len(wrong), 'imported round')} without a correct registry row{_span(wrong)}: "
        "`statsbot registry repair --apply` records the registry rows (nothing is imported again)",
    )
    # Files the server still lists are already reported as never processed: list each file once.
    listed = snap.remote or {}
    unregistered = [n for n in local if n not in reg and n not in rounds and n not in listed]
    add(
        Kind.LOCAL_UNREGISTERED,
        unregistered,
        True,
        f"{_files(unregistered)} in local_stats/{srv}/ not in the registry{_span(unregistered)}: "
        f"`statsbot sync --server {srv}` imports them (content already imported is recorded as duplicate)",
    )
    missing = [
        n
        for n, r in reg.items()
        if r.state in DONE_STATES and n not in local and (r.state != "imported" or n in rounds)
    ]
    add(
        Kind.MISSING_LOCALLY,
        missing,
        False,
        f"{_files(missing)} processed but missing locally{_span(missing)}: harmless (the data is in the "
        f"database); `statsbot sync --server {srv} --restore-local` brings back those still on the server",
    )
    failed = [n for n, r in reg.items() if r.state == "failed"]
    add(
        Kind.FAILED,
        failed,
        True,
        f"{_files(failed)} failed, retried with backoff{_span(failed)}; "
        "`statsbot explain FILE` shows each attempt",
        {n: f"attempt {reg[n].attempts}: {reg[n].last_error or '?'}" for n in failed},
    )
    quarantined = [n for n, r in reg.items() if r.state == "quarantined"]
    add(
        Kind.QUARANTINED,
        quarantined,
        True,
        f"{_files(quarantined)} quarantined{_span(quarantined)}: fix the file (or the parser), then "
        f"`statsbot reprocess --server {srv} FILE`; a changed remote file is retried automatically",
        {n: reg[n].last_error or "?" for n in quarantined},
    )
    order = list(Kind)
    found.sort(key=lambda d: order.index(d.kind))
    counts = Counts(
        remote=None if snap.remote is None else len(snap.remote),
        local=len(local),
        local_compressed=sum(1 for f in local.values() if f.compressed),
        registry=dict(sorted(Counter(r.state for r in reg.values()).items())),
        rounds=len(rounds),
    )
    return ServerReport(srv, snap.remote is not None, snap.remote_error, counts, tuple(found))


def _changed_detail(row: RegistryEntry, remote: RemoteFile) -> str:
    return f"imported size {row.size} mtime {row.mtime}, server now size {remote.size} mtime {remote.mtime}"
