"""Never forget silently: a record, outside the database, of what the database held.

`<db stem>.watermark` beside the database (`data/statsbot.watermark`) holds the database's instance id
and high-water marks: the highest round id ever given, the round count, the highest outbox id
delivered, and per server the newest round. It is rewritten atomically (temp file, fsync, rename, fsync
of the folder) a moment after commits, batched (`Database` schedules it), and only after the database
file and its WAL are fsynced: it never claims more than the database durably holds.

At start (`Database.open(..., continuity=...)`) a database that is empty, another one, or behind the
record is refused with `DataLossError`, which says what was lost and how to go on. Accepting the loss
(`--accept-data-loss`) re-baselines the record and stores, in the database, per server the newest round
the lost database held: rounds not newer than that are imported again without posts (bot/ingest).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import structlog

from bot.db.tx import SyncTx
from bot.errors import DatabaseError

log = structlog.get_logger(__name__)

RECORD_SUFFIX = ".watermark"
RECORD_VERSION = 1
_PERSIST_LOCK = threading.Lock()


class DataLossError(DatabaseError):
    """The database holds less than the record says it held: refused until restored or accepted."""


@dataclass(frozen=True, slots=True)
class Continuity:
    """What the start-up check needs beyond the database path (from the settings)."""

    backup_dir: Path
    local_stats: Path
    accept_data_loss: bool = False


@dataclass(frozen=True, slots=True)
class Marks:
    """What a database holds, as far as forgetting goes."""

    instance_id: str
    rounds_seq: int  # highest round id ever given (AUTOINCREMENT: never goes down)
    rounds: int
    sent_max: int  # highest outbox id delivered
    newest: dict[str, str] = field(default_factory=dict)  # server -> newest round's played_at

    def behind(self, other: Marks) -> bool:
        return self.rounds_seq < other.rounds_seq or self.sent_max < other.sent_max


def record_path(db_path: Path) -> Path:
    """`data/statsbot.db` → `data/statsbot.watermark` (not matched by `rm statsbot.db*`)."""
    return db_path.with_name(db_path.stem + RECORD_SUFFIX)


# --- SQL (worker thread) ------------------------------------------------------------------------

_NEWEST_SQL = (
    # One index seek per server (rounds_server_played), never a scan: cheap with 100,000 rounds.
    "WITH RECURSIVE s(server) AS (SELECT min(server) FROM rounds UNION ALL "
    "SELECT (SELECT min(server) FROM rounds WHERE server > s.server) FROM s WHERE s.server IS NOT NULL) "
    "SELECT server, (SELECT max(played_at) FROM rounds r WHERE r.server = s.server) FROM s "
    "WHERE server IS NOT NULL"
)


def read_marks(conn: sqlite3.Connection) -> Marks:
    instance = conn.execute("SELECT instance_id FROM instance WHERE id = 1").fetchone()
    seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'rounds'").fetchone()
    rounds = conn.execute("SELECT count(*) FROM rounds").fetchone()
    sent = conn.execute("SELECT id FROM outbox WHERE state = 'sent' ORDER BY id DESC LIMIT 1").fetchone()
    newest = {str(r[0]): str(r[1]) for r in conn.execute(_NEWEST_SQL)}
    return Marks(
        instance_id=str(instance[0]) if instance else "",
        rounds_seq=int(seq[0]) if seq else 0,
        rounds=int(rounds[0]),
        sent_max=int(sent[0]) if sent else 0,
        newest=newest,
    )


def _is_empty(conn: sqlite3.Connection) -> bool:
    for table in ("rounds", "processed_files", "outbox"):
        if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:
            return False
    return True


def _quiet_until(conn: sqlite3.Connection) -> dict[str, str]:
    row = conn.execute("SELECT quiet_until FROM instance WHERE id = 1").fetchone()
    value = json.loads(row[0]) if row is not None and row[0] is not None else {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def any_quiet_sync(stx: SyncTx, round_ids: Sequence[int]) -> bool:
    """True when one of these rounds is not newer than the newest round of a database whose loss was
    accepted, on its server: it was posted before the loss, so its import must not post again."""
    row = stx.fetchone("SELECT quiet_until FROM instance WHERE id = 1")
    if row is None or row[0] is None or not round_ids:
        return False
    quiet = json.loads(row[0])
    marks = ",".join("?" * len(round_ids))
    rows = stx.fetchall(f"SELECT server, played_at FROM rounds WHERE id IN ({marks})", list(round_ids))
    return any(str(r[1]) <= str(quiet.get(str(r[0]), "")) for r in rows)


def _set_quiet_until(conn: sqlite3.Connection, lost: Mapping[str, str]) -> dict[str, str]:
    merged = _quiet_until(conn)
    for server, played_at in lost.items():
        merged[server] = max(played_at, merged.get(server, ""))
    conn.execute("UPDATE instance SET quiet_until = ? WHERE id = 1", (json.dumps(merged, sort_keys=True),))
    return merged


# --- the record file ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    marks: Marks
    written_at: float


def read_record(path: Path) -> Record | None:
    """The record, or None when there is none; DataLossError when it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        data = json.loads(text)
        marks = Marks(**data["marks"])
        return Record(marks, float(data["written_at"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise DataLossError(
            f"{path}: unreadable record of what the database held ({exc}); it is only ever replaced "
            "whole, so something else wrote it: check the database (`statsbot db check`), then remove "
            "the record to take the database as it is"
        ) from None


def _fsync_path(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_record(conn: sqlite3.Connection, db_path: Path) -> Marks:
    """Read the marks, make what they describe durable, then replace the record atomically."""
    marks = read_marks(conn)
    persist(db_path, marks)
    return marks


def persist(db_path: Path, marks: Marks) -> None:
    """Record `marks`, read from the database before this call. synchronous=NORMAL leaves the last
    commits in the WAL unsynced: the WAL and the database file are fsynced first, so the record never
    names a commit a power loss could take back. Needs no database lock (~15 ms with 100,000 rounds).
    Serialised: a write left running by a cancelled task never shares the temp file with the next."""
    with _PERSIST_LOCK:
        _fsync_path(db_path.with_name(db_path.name + "-wal"))
        _fsync_path(db_path)
        _write_atomic(record_path(db_path), marks)


def _write_atomic(path: Path, marks: Marks) -> None:
    now = dt.datetime.now(dt.UTC).timestamp()
    body = json.dumps({"version": RECORD_VERSION, "marks": asdict(marks), "written_at": now}, sort_keys=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, body.encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_path(path.parent)


# --- the start-up check -------------------------------------------------------------------------


def check(conn: sqlite3.Connection, db_path: Path, policy: Continuity) -> None:
    """Refuse (DataLossError) a database that is empty, another one, or behind its record.

    No record: a new install (empty database, nothing in local_stats/) or an install older than the
    record (a database with data) starts, and the record is written; an empty database beside
    downloaded files is refused (the database was lost together with the record).
    """
    path = record_path(db_path)
    record = read_record(path)
    marks = read_marks(conn)
    if record is None:
        if _is_empty(conn):
            kept = _local_newest(policy.local_stats)
            if kept:
                if not policy.accept_data_loss:
                    raise DataLossError(_no_record_message(db_path, policy, sum(n for n, _ in kept.values())))
                _accept(conn, db_path, {s: newest for s, (_, newest) in kept.items()}, "no record")
                return
        write_record(conn, db_path)
        return
    lost = record.marks
    same = lost.instance_id == marks.instance_id
    if same and not marks.behind(lost):
        return  # the record is caught up by the first commit's flush
    if lost.rounds_seq == 0 and lost.sent_max == 0 and _is_empty(conn):
        write_record(conn, db_path)  # it never held a round nor posted anything: nothing to lose
        return
    if not policy.accept_data_loss:
        raise DataLossError(_message(db_path, policy, record, marks, empty=_is_empty(conn), same=same))
    _accept(conn, db_path, lost.newest, "behind" if same else "replaced")


def _accept(conn: sqlite3.Connection, db_path: Path, lost_newest: Mapping[str, str], why: str) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        quiet = _set_quiet_until(conn, lost_newest)
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


def _message(
    db_path: Path, policy: Continuity, record: Record, marks: Marks, *, empty: bool, same: bool
) -> str:
    lost = record.marks
    when = dt.datetime.fromtimestamp(record.written_at, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    held = (
        f"on {when} it held {lost.rounds} round(s) (round ids up to {lost.rounds_seq}) and had posted up "
        f"to outbox id {lost.sent_max}"
    )
    if empty:
        state = f"{db_path} is EMPTY"
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
