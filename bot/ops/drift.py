"""The pure four-location comparison (server, local_stats/, registry, rounds) behind `statsbot diagnose`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

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
            found.append(make_difference(kind, names, matters=matters, recommendation=advice, errors=errors))

    if snap.remote is None:
        found.append(remote_unknown(snap))
    else:
        valid = [n for n in snap.remote if is_stats_name(n)]
        valid_set = set(valid)
        rejected = [n for n in snap.remote if n not in valid_set]
        unprocessed = [
            n for n in valid if (n not in reg or reg[n].state in IN_PROGRESS_STATES) and n not in rounds
        ]
        imported = [n for n in valid if n in reg and reg[n].state == "imported"]
        # A size change is a content change; an mtime alone changes when files are copied back or
        # backfilled (cp, rsync without -t): same size is reported, not alarmed on.
        changed = [n for n in imported if _size_changed(reg[n], snap.remote[n])]
        touched = [
            n
            for n in imported
            if n not in changed and reg[n].mtime is not None and reg[n].mtime != snap.remote[n].mtime
        ]
        done = sum(1 for r in reg.values() if r.state == "imported")
        if not valid and done:
            found.append(
                make_difference(
                    Kind.REMOTE_EMPTY,
                    (),
                    matters=True,
                    recommendation=f"remote folder empty but {plural(done, 'file')} imported — wrong "
                    f"remote_dir, or cleaned by hand? check remote_dir of {srv} in the config and the "
                    "folder on the server (the imported data is safe in the database)",
                )
            )
        add(
            Kind.REMOTE_UNPROCESSED,
            unprocessed,
            True,
            f"{files_phrase(unprocessed)} on the server never processed{span(unprocessed)}: "
            f"the running daemon picks them up; `statsbot sync --server {srv}` imports them now",
        )
        add(
            Kind.CHANGED_AFTER_IMPORT,
            changed,
            True,
            f"{files_phrase(changed)} changed on the server after import{span(changed)}: check them; "
            f"`statsbot reprocess --server {srv} --source remote FILE` imports the new version",
            {n: _changed_detail(reg[n], snap.remote[n]) for n in changed},
        )
        add(
            Kind.MTIME_ONLY,
            touched,
            False,
            f"{files_phrase(touched)} with a new modification time but the imported size{span(touched)}: "
            "harmless (copied back or backfilled); the content is not re-checked — "
            f"`statsbot reprocess --server {srv} --source remote FILE` if you suspect an edit",
            {n: _changed_detail(reg[n], snap.remote[n]) for n in touched},
        )
        add(
            Kind.REJECTED_NAMES,
            rejected,
            False,
            f"{plural(len(rejected), 'other name')} on the server, not stats files: "
            "never downloaded (harmless)",
        )

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
    wrong = [n for n, rnd in rounds.items() if registry_problem(reg.get(n), rnd) is not None]
    add(
        Kind.ROUND_WITHOUT_REGISTRY,
        wrong,
        True,
        f"{plural(len(wrong), 'imported round')} without a correct registry row{span(wrong)}: "
        "`statsbot registry repair --apply` records the registry rows (nothing is imported again)",
    )
    # Files the server still lists are already reported as never processed: list each file once.
    listed = snap.remote or {}
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
        if r.state in DONE_STATES and n not in local and (r.state != "imported" or n in rounds)
    ]
    add(
        Kind.MISSING_LOCALLY,
        missing,
        False,
        f"{files_phrase(missing)} processed but missing locally{span(missing)}: harmless (the data is in the "
        f"database); `statsbot sync --server {srv} --restore-local` brings back those still on the server",
    )
    failed = [n for n, r in reg.items() if r.state == "failed"]
    add(
        Kind.FAILED,
        failed,
        True,
        f"{files_phrase(failed)} failed, retried with backoff{span(failed)}; "
        "`statsbot explain FILE` shows each attempt",
        {n: f"attempt {reg[n].attempts}: {reg[n].last_error or '?'}" for n in failed},
    )
    quarantined = [n for n, r in reg.items() if r.state == "quarantined"]
    add(
        Kind.QUARANTINED,
        quarantined,
        True,
        f"{files_phrase(quarantined)} quarantined{span(quarantined)}: fix the file (or the parser), then "
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


def _size_changed(row: RegistryEntry, remote: RemoteFile) -> bool:
    return row.size is not None and row.size != remote.size


def _changed_detail(row: RegistryEntry, remote: RemoteFile) -> str:
    return f"imported size {row.size} mtime {row.mtime}, server now size {remote.size} mtime {remote.mtime}"
