"""The start-up check of bot/db/continuity.py: refuse a database that forgot, or accept the loss.

A database that is empty, another one (instance id), or behind its record is refused with a
DataLossError saying what was lost and how to go on (the newest backup by name, `--accept-data-loss`).
Accepting stores in the database, per server, the newest round the lost database held (rounds up to it
are imported again without posts) and rewrites the record.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import structlog

from bot.db.continuity import (
    Continuity,
    DataLossError,
    Marks,
    Record,
    is_empty,
    read_marks,
    read_record,
    record_path,
    set_quiet_until,
    write_record,
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Verdict:
    """What the start-up check decides: start (writing the record if `write`), or refuse with `refused`;
    `accept` (server -> newest lost played_at) and `why` say how `--accept-data-loss` would go on."""

    refused: str | None = None
    write: bool = False
    accept: Mapping[str, str] | None = None
    why: str = ""


def _verdict(conn: sqlite3.Connection, db_path: Path, policy: Continuity) -> _Verdict:
    """The one decision of `check` and `refusal`; reads only (DataLossError: an unreadable record).

    No record: a new install (empty database, nothing in local_stats/) or an install older than the
    record (a database with data) starts, and the record is written; an empty database beside
    downloaded files is refused (the database was lost together with the record).
    """
    record = read_record(record_path(db_path))
    if record is None:
        kept = _local_newest(policy.local_stats) if is_empty(conn) else {}
        if not kept:
            return _Verdict(write=True)
        return _Verdict(
            refused=_no_record_message(db_path, policy, sum(n for n, _ in kept.values())),
            accept={s: newest for s, (_, newest) in kept.items()},
            why="no record",
        )
    lost, marks = record.marks, read_marks(conn)
    same = lost.instance_id == marks.instance_id
    if same and not marks.behind(lost):
        return _Verdict()  # the record is caught up by the first commit's flush
    if lost.rounds_seq == 0 and lost.sent_max == 0 and is_empty(conn):
        return _Verdict(write=True)  # it never held a round nor posted anything: nothing to lose
    message = _message(
        db_path,
        policy,
        record,
        marks,
        empty=is_empty(conn),
        same=same,
        older=_instance_newer_than(conn, record),
    )
    return _Verdict(refused=message, accept=lost.newest, why="behind" if same else "replaced")


def check(conn: sqlite3.Connection, db_path: Path, policy: Continuity) -> None:
    """Refuse (DataLossError) a database that is empty, another one, or behind its record (`_verdict`);
    with `--accept-data-loss`, accept the loss instead."""
    verdict = _verdict(conn, db_path, policy)
    if verdict.refused is None:
        if verdict.write:
            write_record(conn, db_path)
        return
    if not policy.accept_data_loss or verdict.accept is None:
        raise DataLossError(verdict.refused)
    _accept(conn, db_path, verdict.accept, verdict.why)


def refusal(conn: sqlite3.Connection, db_path: Path, policy: Continuity) -> str | None:
    """What `check` would refuse this database with (without `--accept-data-loss`), or None; reads only.

    For the readers (`diagnose`, `health`): they run on a refused database, and must say it is refused
    rather than advise a `sync` or a daemon that would refuse it.
    """
    try:
        return _verdict(conn, db_path, policy).refused
    except DataLossError as exc:
        return str(exc)


def _accept(conn: sqlite3.Connection, db_path: Path, lost_newest: Mapping[str, str], why: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        quiet = set_quiet_until(conn, lost_newest)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    marks = write_record(conn, db_path)
    log.warning("data_loss_accepted", db=str(db_path), why=why, quiet_until=quiet, rounds=marks.rounds)


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


def _newest_backup(policy: Continuity) -> Path | None:
    backups = sorted(policy.backup_dir.glob("statsbot-*.db")) if policy.backup_dir.is_dir() else []
    return backups[-1] if backups else None


def _how_to_proceed(db_path: Path, policy: Continuity) -> str:
    backup = _newest_backup(policy)
    restore = (
        f"restore the newest backup {backup} (stop statsbot; copy it to {db_path}; remove "
        f"{db_path.name}-wal and -shm)"
        if backup is not None
        else f"restore a backup of {db_path} if you have one (none in {policy.backup_dir})"
    )
    return (
        f"To proceed: {restore}, then run `statsbot sync --accept-data-loss` (or start with "
        "`statsbot run --accept-data-loss`): what the database lacks is imported again WITHOUT posting "
        "it a second time. With no backup, the same `--accept-data-loss` rebuilds from the servers and "
        "local_stats/ without posting. See docs/OPERATIONS.md §3."
    )


def _instance_newer_than(conn: sqlite3.Connection, record: Record) -> bool:
    """The database got its instance id (migration 0004) after the record was written: it was made by a
    version before the record (a backup taken before the upgrade), not another install's database."""
    row = conn.execute("SELECT created_at FROM instance WHERE id = 1").fetchone()
    return row is not None and float(row[0]) > record.written_at


def _message(
    db_path: Path,
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
    if empty:
        state = f"{db_path} is EMPTY"
    elif not same and older:
        state = (
            f"{db_path} was made by a statsbot version before the record (its instance id is new: a "
            "backup taken before the upgrade?), not the database the record describes"
        )
    elif not same:
        state = f"{db_path} is another database (instance {marks.instance_id}, not {lost.instance_id})"
    else:
        state = f"{db_path} is BEHIND its record"
    now = (
        f"it now holds {marks.rounds} round(s) (ids up to {marks.rounds_seq}), posted up to {marks.sent_max}"
    )
    return (
        f"{state}: {held} ({record_path(db_path).name}); {now}. Starting would import every lost file "
        f"again and post it again, so statsbot refuses. {_how_to_proceed(db_path, policy)}"
    )


def _no_record_message(db_path: Path, policy: Continuity, files: int) -> str:
    return (
        f"{db_path} is EMPTY but {policy.local_stats} holds {files} downloaded stats file(s): a database "
        "imported them and is gone (with its record). Starting would import and post them all again, "
        f"so statsbot refuses. {_how_to_proceed(db_path, policy)} (Copied in by hand as history? Then "
        "--accept-data-loss is also the way: they are imported without posts.)"
    )
