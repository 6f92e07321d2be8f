"""The start-up check of bot/db/continuity.py: refuse a database that forgot, or accept the loss.

A database that is empty, another one (instance id), or behind its record is refused with a
DataLossError saying what was lost and how to go on (the newest backup by name, `--accept-data-loss`).
Accepting stores in the database, per server, the newest round the lost database held (rounds up to it
are imported again without posts) and rewrites the record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import structlog

from bot.db.continuity import (
    Continuity,
    DataLossError,
    Marks,
    Record,
    Site,
    find_record,
    is_empty,
    read_marks,
    set_quiet_until,
    write_record,
)
from bot.db.tx import SyncTx, in_transaction

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Verdict:
    """What the start-up check decides: start (writing the record if `write`), or refuse with `refused`;
    `accept` (server -> newest lost played_at) and `why` say how `--accept-data-loss` would go on."""

    refused: str | None = None
    write: bool = False
    accept: Mapping[str, str] | None = None
    why: str = ""


def _verdict(stx: SyncTx, site: Site, policy: Continuity) -> _Verdict:
    """The one decision of `check` and `refusal`; reads only (DataLossError: an unreadable record).

    No record: a new install (empty database, nothing in local_stats/) or an install older than the
    record (a database with data) starts, and the record is written; an empty database beside
    downloaded files is refused (the database was lost together with the record).

    PostgreSQL: a database AHEAD of the record starts (a standby's record is older than what the leader
    imported since) and the record is refreshed at once (`write`).
    """
    marks = read_marks(stx, site.engine)
    where, record = find_record(site, marks.instance_id)
    if record is None:
        kept = _local_newest(policy.local_stats) if is_empty(stx) else {}
        if not kept:
            return _Verdict(write=True)
        return _Verdict(
            refused=_no_record_message(site, policy, sum(n for n, _ in kept.values())),
            accept={s: newest for s, (_, newest) in kept.items()},
            why="no record",
        )
    lost = record.marks
    same = lost.instance_id == marks.instance_id
    if same and not marks.behind(lost):
        # SQLite: the record is caught up by the first commit's flush. PostgreSQL: at once (a standby
        # may make no commit for days; found under another address: recorded under this one from now).
        return _Verdict(write=site.on_postgresql)
    if lost.rounds_seq == 0 and lost.sent_max == 0 and is_empty(stx):
        return _Verdict(write=True)  # it never held a round nor posted anything: nothing to lose
    message = _message(
        site,
        where,
        policy,
        record,
        marks,
        empty=is_empty(stx),
        same=same,
        older=not site.on_postgresql and _instance_newer_than(stx, record),
    )
    return _Verdict(refused=message, accept=lost.newest, why="behind" if same else "replaced")


def check(stx: SyncTx, site: Site, policy: Continuity) -> None:
    """Refuse (DataLossError) a database that is empty, another one, or behind its record (`_verdict`);
    with `--accept-data-loss`, accept the loss instead."""
    verdict = _verdict(stx, site, policy)
    if verdict.refused is None:
        if verdict.write:
            write_record(stx, site)
        return
    if not policy.accept_data_loss or verdict.accept is None:
        raise DataLossError(verdict.refused)
    _accept(stx, site, verdict.accept, verdict.why)


def refusal(stx: SyncTx, site: Site, policy: Continuity) -> str | None:
    """What `check` would refuse this database with (without `--accept-data-loss`), or None; reads only.

    For the readers (`diagnose`, `health`): they run on a refused database, and must say it is refused
    rather than advise a `sync` or a daemon that would refuse it.
    """
    try:
        return _verdict(stx, site, policy).refused
    except DataLossError as exc:
        return str(exc)


def _accept(stx: SyncTx, site: Site, lost_newest: Mapping[str, str], why: str) -> None:
    quiet = in_transaction(stx, lambda: set_quiet_until(stx, lost_newest))
    marks = write_record(stx, site)
    log.warning("data_loss_accepted", db=site.name, why=why, quiet_until=quiet, rounds=marks.rounds)


def _local_newest(local_stats: Path) -> dict[str, tuple[int, str]]:
    """Per server folder of local_stats/: (stats files, newest played_at) — files a database imported."""
    from bot.db.rows import played_at_text
    from bot.errors import ParseError
    from bot.stats.names import parse_filename

    found: dict[str, tuple[int, str]] = {}
    if not local_stats.is_dir():
        return found
    for folder in sorted(p for p in local_stats.iterdir() if p.is_dir()):
        count, newest = 0, ""
        for path in folder.rglob("*"):
            name = path.name.removesuffix(".gz")
            try:
                parsed = parse_filename(name)
            except ParseError:
                continue
            count += 1
            newest = max(newest, played_at_text(parsed.played_at))
        if count:
            found[folder.name] = (count, newest)
    return found


def _newest_backup(policy: Continuity, patterns: tuple[str, ...]) -> Path | None:
    if not policy.backup_dir.is_dir():
        return None
    # statsbot-<UTC timestamp>.<ext>: the name sorts by time whatever the extension.
    backups = sorted(
        (p for pattern in patterns for p in policy.backup_dir.glob(pattern)), key=lambda p: p.stem
    )
    return backups[-1] if backups else None


def _restore_advice(site: Site, policy: Continuity) -> str:
    if site.on_postgresql:
        backup = _newest_backup(policy, ("statsbot-*.dump", "statsbot-*.db"))
        into = (
            f"`statsbot db migrate --from {backup} --to <the URL> --force`"
            if backup is not None and backup.suffix == ".db"
            else "`pg_restore --no-owner --dbname <the URL>` into it recreated empty"
        )
        return (
            f"restore the newest backup {backup} into this same database (stop statsbot on every host; "
            f"{into}; docs/OPERATIONS.md §12)"
            if backup is not None
            else f"restore a backup of {site.name} if you have one (none in {policy.backup_dir})"
        )
    db_path = Path(site.name)
    backup = _newest_backup(policy, ("statsbot-*.db",))
    return (
        f"restore the newest backup {backup} (stop statsbot; copy it to {db_path}; remove "
        f"{db_path.name}-wal and -shm)"
        if backup is not None
        else f"restore a backup of {db_path} if you have one (none in {policy.backup_dir})"
    )


def _how_to_proceed(site: Site, policy: Continuity) -> str:
    restore = _restore_advice(site, policy)
    return (
        f"To proceed: {restore}, then run `statsbot sync --accept-data-loss` (or start with "
        "`statsbot run --accept-data-loss`): what the database lacks is imported again WITHOUT posting "
        "it a second time. With no backup, the same `--accept-data-loss` rebuilds from the servers and "
        "local_stats/ without posting."
        + (
            " Each host keeps its own record: start the other instance with `--accept-data-loss` too."
            if site.on_postgresql
            else ""
        )
        + " See docs/OPERATIONS.md §3."
    )


def _instance_newer_than(stx: SyncTx, record: Record) -> bool:
    """The database got its instance id (migration 0004) after the record was written: it was made by a
    version before the record (a backup taken before the upgrade), not another install's database.
    SQLite only: a PostgreSQL database has its instance id from its first migration."""
    row = stx.fetchone("SELECT created_at FROM instance WHERE id = 1")
    return row is not None and float(row[0]) > record.written_at


def _message(
    site: Site,
    where: Path,
    policy: Continuity,
    record: Record,
    marks: Marks,
    *,
    empty: bool,
    same: bool,
    older: bool = False,
) -> str:
    lost = record.marks
    when = dt.datetime.fromtimestamp(record.written_at, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    held = (
        f"on {when} it held {lost.rounds} round(s) (round ids up to {lost.rounds_seq}) and had posted up "
        f"to outbox id {lost.sent_max}"
    )
    db = site.name
    if empty:
        state = f"{db} is EMPTY"
    elif not same and older:
        state = (
            f"{db} was made by a statsbot version before the record (its instance id is new: a "
            "backup taken before the upgrade?), not the database the record describes"
        )
    elif not same:
        state = f"{db} is another database (instance {marks.instance_id}, not {lost.instance_id})"
    else:
        state = f"{db} is BEHIND its record"
    now = (
        f"it now holds {marks.rounds} round(s) (ids up to {marks.rounds_seq}), posted up to {marks.sent_max}"
    )
    return (
        f"{state}: {held} ({where.name}); {now}. Starting would import every lost file "
        f"again and post it again, so statsbot refuses. {_how_to_proceed(site, policy)}"
    )


def _no_record_message(site: Site, policy: Continuity, files: int) -> str:
    return (
        f"{site.name} is EMPTY but {policy.local_stats} holds {files} downloaded stats file(s): a database "
        "imported them and is gone (with its record). Starting would import and post them all again, "
        f"so statsbot refuses. {_how_to_proceed(site, policy)} (Copied in by hand as history? Then "
        "--accept-data-loss is also the way: they are imported without posts.)"
    )
