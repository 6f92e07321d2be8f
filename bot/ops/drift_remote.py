"""The server side of the four-location comparison: new files, changed files, files gone (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.ops.findings import Difference, Kind, files_phrase, make_difference, plural, span
from bot.ops.locations import (
    IN_PROGRESS_STATES,
    RegistryEntry,
    RemoteFile,
    RoundEntry,
    ServerSnapshot,
    is_stats_name,
)

# Files whose content is in the database: they may leave the server without anything being lost.
CONTENT_KEPT = frozenset({"imported", "duplicate"})
# Who removed a file from the server when that was meant: retention, or an operator who accepted it.
GONE_ON_PURPOSE = frozenset({"retention", "operator"})


@dataclass(frozen=True, slots=True)
class RemoteSide:
    """What the server-side comparison found, and the names other checks must not list a second time."""

    differences: tuple[Difference, ...]
    elsewhere: frozenset[str]  # imported from a folder with `statsbot import`, never on the server


def imported_size(row: RegistryEntry, rnd: RoundEntry | None) -> int | None:
    """The size of what was imported: the stored content's when loaded, else the registry's."""
    if rnd is not None and rnd.size is not None:
        return rnd.size
    return row.size


Add = Callable[..., None]


def _collector(found: list[Difference]) -> Add:
    def add(
        kind: Kind, names: list[str], matters: bool, advice: str, errors: Mapping[str, str] | None = None
    ) -> None:
        if names:
            found.append(make_difference(kind, names, matters=matters, recommendation=advice, errors=errors))

    return add


def compare_remote(snap: ServerSnapshot) -> RemoteSide:
    """Differences between the server's listing (or the registry's record of it) and the registry."""
    srv, reg = snap.server, snap.registry
    found: list[Difference] = []
    add = _collector(found)
    kept = {n: r for n, r in reg.items() if r.state in CONTENT_KEPT}
    elsewhere: list[str] = []
    if snap.remote is None:  # unreachable or not asked: what the daemon last recorded
        not_listed = [n for n, r in kept.items() if r.remote_gone_at is not None]
    elif not any(is_stats_name(n) for n in snap.remote):  # an empty folder (wrong remote_dir?) is reported
        # by itself, never as deletions
        not_listed = []
    else:
        missing = [n for n in kept if n not in snap.remote]
        seen = snap.from_server
        if seen is not None:
            elsewhere = [n for n in missing if n not in seen and reg[n].remote_gone_at is None]
        not_listed = [n for n in missing if n not in elsewhere]
    expected = [n for n in not_listed if reg[n].remote_gone_by in GONE_ON_PURPOSE]
    gone = [n for n in not_listed if reg[n].remote_gone_by not in GONE_ON_PURPOSE]
    add(
        Kind.GONE_FROM_SERVER,
        gone,
        True,
        f"{files_phrase(gone)} imported, then deleted from the server by someone else than retention"
        f"{span(gone)}: nothing is lost (rounds and raw content are in the database). If that was not "
        "meant, put them back on the server; if it was, `statsbot registry repair --apply` records the "
        f"deletion as intended. `statsbot sync --server {srv} --restore-local` keeps local copies",
        {n: _gone_detail(reg[n]) for n in gone},
    )
    by_retention = sum(1 for n in expected if reg[n].remote_gone_by == "retention")
    add(
        Kind.GONE_ON_PURPOSE,
        expected,
        False,
        f"{files_phrase(expected)} imported, then deleted from the server on purpose{span(expected)} "
        f"({by_retention} by retention, {len(expected) - by_retention} accepted with `registry repair`): "
        "harmless, the data is in the database",
    )
    add(
        Kind.IMPORTED_ELSEWHERE,
        elsewhere,
        False,
        f"{files_phrase(elsewhere)} imported with `statsbot import` from a folder, never on this server"
        f"{span(elsewhere)}: harmless (nothing to download; the raw content is in the database)",
    )
    if snap.remote:
        _listed(snap, add)
    return RemoteSide(tuple(found), frozenset(elsewhere))


def _listed(snap: ServerSnapshot, add: Add) -> None:
    """New files, and imported files whose server copy changed size or only mtime."""
    assert snap.remote is not None
    srv, reg, rounds, remote = snap.server, snap.registry, snap.rounds, snap.remote
    valid = [n for n in remote if is_stats_name(n)]
    new = [n for n in valid if (n not in reg or reg[n].state in IN_PROGRESS_STATES) and n not in rounds]
    flying = [n for n in new if _in_flight(snap, n)]
    new = [n for n in new if n not in set(flying)]
    imported = [n for n in valid if n in reg and reg[n].state == "imported"]
    # A size change is a content change; an mtime alone changes when files are copied back or backfilled
    # (cp, rsync without -t): same size is reported, not alarmed on. The size compared with is the imported
    # content's when it is known: a registry row edited by hand is the registry's fault, not the server's.
    changed = [n for n in imported if _differs(imported_size(reg[n], rounds.get(n)), remote[n])]
    touched = [n for n in imported if n not in changed and reg[n].mtime not in (None, remote[n].mtime)]
    if snap.local_disk_alert is not None:
        blocker = (
            f"the local disk is the blocker: {snap.local_disk_alert} → free space (or fix permissions) "
            "there; the daemon fetches them on the next polls once it can write"
        )
    else:
        blocker = f"the running daemon picks them up; `statsbot sync --server {srv}` imports them now"
    add(
        Kind.REMOTE_UNPROCESSED,
        new,
        True,
        f"{files_phrase(new)} on the server never processed{span(new)}: {blocker}",
    )
    add(
        Kind.REMOTE_IN_FLIGHT,
        flying,
        False,
        f"{files_phrase(flying)} new on the server{span(flying)}, first listed by the daemon less than "
        f"{snap.in_flight_seconds or 0:.0f}s ago: the running daemon is importing them (harmless)",
    )
    add(
        Kind.CHANGED_AFTER_IMPORT,
        changed,
        True,
        f"{files_phrase(changed)} changed on the server after import{span(changed)}: the server's copy "
        "differs from the imported content; check them; "
        f"`statsbot reprocess --server {srv} --source remote FILE` imports the new version",
        {n: _changed_detail(reg[n], rounds.get(n), remote[n]) for n in changed},
    )
    add(
        Kind.MTIME_ONLY,
        touched,
        False,
        f"{files_phrase(touched)} with a new modification time but the imported size{span(touched)}: "
        "harmless (copied back or backfilled); the content is not re-checked — "
        f"`statsbot reprocess --server {srv} --source remote FILE` if you suspect an edit",
        {n: _changed_detail(reg[n], rounds.get(n), remote[n]) for n in touched},
    )
    valid_set = set(valid)
    rejected = [n for n in remote if n not in valid_set]
    add(
        Kind.REJECTED_NAMES,
        rejected,
        False,
        f"{plural(len(rejected), 'other name')} on the server, not stats files: never downloaded (harmless)",
    )


def _in_flight(snap: ServerSnapshot, name: str) -> bool:
    """A new file the daemon is busy with: listed by it (state seen/downloaded) within the bound; one
    waiting longer than that, or one the daemon never listed, is a finding."""
    if snap.now is None or snap.in_flight_seconds is None or snap.local_disk_alert is not None:
        return False
    row = snap.registry.get(name)
    return row is not None and snap.now - row.first_seen_at <= snap.in_flight_seconds


def _differs(size: int | None, remote: RemoteFile) -> bool:
    return size is not None and size != remote.size


def _changed_detail(row: RegistryEntry, rnd: RoundEntry | None, remote: RemoteFile) -> str:
    return (
        f"imported size {imported_size(row, rnd)} mtime {row.mtime}, "
        f"server now size {remote.size} mtime {remote.mtime}"
    )


def _gone_detail(row: RegistryEntry) -> str:
    if row.remote_gone_at is None:
        return "not listed by the server now (the daemon records it at its next full listing)"
    at = dt.datetime.fromtimestamp(row.remote_gone_at, dt.UTC).strftime("%Y-%m-%d %H:%M")
    return f"recorded gone by the daemon's listing at {at} UTC"
