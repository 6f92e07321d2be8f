"""The pure four-location comparison (server, local_stats/, registry, rounds) behind `statsbot diagnose`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from bot.ops.drift_remote import compare_remote
from bot.ops.findings import (
    TITLES,
    Counts,
    Difference,
    Kind,
    ServerReport,
    files_phrase,
    make_difference,
    plural,
    remote_unknown,
    span,
)
from bot.ops.locations import (
    DISABLED,
    DONE_STATES,
    IN_PROGRESS_STATES,
    NOT_CHECKED,
    NOT_CONFIGURED,
    LocalFile,
    RegistryEntry,
    RemoteFile,
    RoundEntry,
    ServerSnapshot,
    file_date,
    is_stats_name,
)
from bot.stats.version import PARSER_VERSION

__all__ = [
    "DISABLED",
    "DONE_STATES",
    "IN_PROGRESS_STATES",
    "NOT_CHECKED",
    "NOT_CONFIGURED",
    "TITLES",
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


def registry_problem(
    row: RegistryEntry | None, rnd: RoundEntry, listed: RemoteFile | None = None
) -> str | None:
    """Why the registry row of a file with an imported round is wrong; None when it is right. `listed`:
    the server's entry for the file, when known (an incomplete row gets its mtime from it)."""
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
    if rnd.size is not None and row.size != rnd.size:
        return f"registry size {row.size} differs from the imported content's {rnd.size} bytes"
    if row.mtime is None and listed is not None and listed.size == rnd.size:
        return "registry row without the mtime of the import (the server's copy is the imported one)"
    return None


def compare(snap: ServerSnapshot) -> ServerReport:
    """Compare the four locations of one server; every difference carries its files and a recommendation.

    Each file is listed under one cause: a row whose state was set by hand over an imported round is a
    wrong registry row, not also a failed or quarantined file.
    """
    srv = snap.server
    reg, rounds, local = snap.registry, snap.rounds, snap.local
    found: list[Difference] = []

    def add(
        kind: Kind, names: list[str], matters: bool, advice: str, errors: Mapping[str, str] | None = None
    ) -> None:
        if names:
            found.append(make_difference(kind, names, matters=matters, recommendation=advice, errors=errors))

    if snap.remote is None:
        found.append(remote_unknown(snap))
    elif not any(is_stats_name(n) for n in snap.remote):
        done = sum(1 for r in reg.values() if r.state == "imported")
        if done:
            key = f"servers[{'N' if snap.config_index is None else snap.config_index}].remote_dir"
            found.append(
                make_difference(
                    Kind.REMOTE_EMPTY,
                    (),
                    matters=True,
                    recommendation=f"remote folder empty but {plural(done, 'file')} imported — wrong "
                    f"remote_dir, or cleaned by hand? check `{key}` ({srv}) in the config and the "
                    "folder on the server (the imported data is safe in the database)",
                )
            )
    remote_side = compare_remote(snap)
    found += remote_side.differences

    no_round = [n for n, r in reg.items() if r.state == "imported" and n not in rounds]
    recoverable = [n for n in no_round if n in local or (snap.remote is not None and n in snap.remote)]
    add(
        Kind.IMPORTED_WITHOUT_ROUND,
        no_round,
        True,
        f"{files_phrase(no_round)} marked imported but without a round{span(no_round)} "
        "(data deleted or database restored): `statsbot registry repair --apply` resets them, then "
        f"`statsbot sync --server {srv}` "
        f"re-imports the {len(recoverable)} that still have a local or remote copy",
    )
    listed = snap.remote or {}
    problems = {n: registry_problem(reg.get(n), rnd, listed.get(n)) for n, rnd in rounds.items()}
    wrong = {n: p for n, p in problems.items() if p is not None}
    add(
        Kind.ROUND_WITHOUT_REGISTRY,
        list(wrong),
        True,
        f"{plural(len(wrong), 'imported round')} without a correct registry row{span(wrong)}: "
        "`statsbot registry repair --apply` records the registry rows from the imported data "
        "(nothing is imported again)",
        wrong,
    )
    # Files the server still lists are already reported as never processed: list each file once.
    unregistered = [n for n in local if n not in reg and n not in rounds and n not in listed]
    add(
        Kind.LOCAL_UNREGISTERED,
        unregistered,
        True,
        f"{files_phrase(unregistered)} in local_stats/{srv}/ not in the registry{span(unregistered)}: "
        f"`statsbot sync --server {srv}` imports them (content already imported is recorded as duplicate)",
    )
    missing = [
        n
        for n, r in reg.items()
        if r.state in DONE_STATES
        and n not in local
        and n not in remote_side.elsewhere
        and (r.state != "imported" or n in rounds)
    ]
    add(
        Kind.MISSING_LOCALLY,
        missing,
        False,
        f"{files_phrase(missing)} processed but missing locally{span(missing)}: harmless (the data is in the "
        f"database); `statsbot sync --server {srv} --restore-local` brings them back (downloaded from the "
        "server, or written from the raw content stored with the round)",
    )
    failed = [n for n, r in reg.items() if r.state == "failed" and n not in wrong]
    add(
        Kind.FAILED,
        failed,
        True,
        f"{files_phrase(failed)} failed, retried with backoff{span(failed)}; "
        "`statsbot explain FILE` shows each attempt",
        {n: f"attempt {reg[n].attempts}: {_error(reg[n])}" for n in failed},
    )
    quarantined = [n for n, r in reg.items() if r.state == "quarantined" and n not in wrong]
    add(
        Kind.QUARANTINED,
        quarantined,
        True,
        f"{files_phrase(quarantined)} quarantined{span(quarantined)}: fix the file (or the parser), then "
        f"`statsbot reprocess --server {srv} FILE`; a changed remote file is retried automatically",
        {n: _error(reg[n]) for n in quarantined},
    )
    stale = [
        n for n, r in rounds.items() if r.parser_version is not None and r.parser_version < PARSER_VERSION
    ]
    add(
        Kind.STALE_ROUNDS,
        stale,
        False,
        f"{plural(len(stale), 'round')} made by an older parser version (now {PARSER_VERSION}){span(stale)}: "
        "`statsbot reprocess --stale` re-derives them from the stored content (one transaction per file)",
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


def _error(row: RegistryEntry) -> str:
    # An empty last_error is a row set by hand (or by an older version): say so, never a bare "?".
    return row.last_error or "no error recorded (state set by hand?)"
