"""Never forget silently: a record, outside the database, of what the database held.

`<db stem>.watermark` beside the database (`data/statsbot.watermark`) holds the database's instance id
and high-water marks: the highest round id ever given, the round count, the highest outbox id
delivered, and per server the newest round. It is rewritten atomically (temp file, fsync, rename, fsync
of the folder) a moment after commits, batched (`Database` schedules it), and only after the database
WAL is fsynced: it never claims more than the database durably holds.

At start (`Database.open(..., continuity=...)`, the check in bot/db/loss_check.py) a database that is
empty, another one, or behind the record is refused with `DataLossError`, which says what was lost and
how to go on. Accepting the loss
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

from bot.db.tx import SyncTx
from bot.errors import DatabaseError

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


def is_empty(conn: sqlite3.Connection) -> bool:
    for table in ("rounds", "processed_files", "outbox"):
        if conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:
            return False
    return True


def _quiet_until(conn: sqlite3.Connection) -> dict[str, str]:
    row = conn.execute("SELECT quiet_until FROM instance WHERE id = 1").fetchone()
    value = json.loads(row[0]) if row is not None and row[0] is not None else {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def quiet_rounds_sync(stx: SyncTx, round_ids: Sequence[int]) -> set[int]:
    """Those of these rounds not newer than the newest round of a database whose loss was accepted, on
    their server: they were posted before the loss, so importing them again must not post them."""
    row = stx.fetchone("SELECT quiet_until FROM instance WHERE id = 1")
    if row is None or row[0] is None or not round_ids:
        return set()
    quiet = json.loads(row[0])
    marks = ",".join("?" * len(round_ids))
    rows = stx.fetchall(f"SELECT id, server, played_at FROM rounds WHERE id IN ({marks})", list(round_ids))
    return {int(r[0]) for r in rows if str(r[2]) <= str(quiet.get(str(r[1]), ""))}


def set_quiet_until(conn: sqlite3.Connection, lost: Mapping[str, str]) -> dict[str, str]:
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
    commits in the WAL unsynced: the WAL is fsynced first, so the record never names a commit a power
    loss could take back (what a checkpoint moved into the database file was fsynced by SQLite itself:
    NORMAL syncs the WAL before and the database after every completed checkpoint, and the WAL keeps
    the frames until then). Needs no database lock (~15 ms with 100,000 rounds).

    The database file itself is NEVER opened here: SQLite's locks are POSIX advisory locks, and closing
    any descriptor of the database file drops all of this process's locks on it (sqlite.org/howtocorrupt
    §2.2). The next reader to close (`diagnose`, `health`) would then take itself for the last
    connection and delete the WAL under the running daemon, whose commits nobody would see again.
    Serialised: a write left running by a cancelled task never shares the temp file with the next."""
    with _PERSIST_LOCK:
        _fsync_path(db_path.with_name(db_path.name + "-wal"))  # SQLite holds no lock on the WAL file
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
