"""Never forget silently: a record, outside the database, of what the database held.

The record holds the database's instance id (table `instance`, migration 0004) and high-water marks: the
highest round id ever given, the round count, the highest outbox id delivered, and per server the newest
round. It is rewritten atomically (temp file, fsync, rename, fsync of the folder) a moment after commits,
batched (`Database` schedules it), and never claims more than the database durably holds.

- SQLite: `<db stem>.watermark` beside the database (`data/statsbot.watermark`), written after the
  database WAL is fsynced.
- PostgreSQL: `statsbot-postgresql-<key>.watermark` in this instance's data_dir, one per configured
  database (`key`: a digest of the URL's host, port, database and options, never its user or password;
  two instances on two hosts each keep their own). Written after commit (with `synchronous_commit` on a
  visible commit is flushed; off, the record waits for the WAL flush), and never lowered: a database
  found behind the record while running (restored under a running daemon) is logged, the record kept.
  A standby refreshes its record from the database at start and every RECORD_REFRESH_SECONDS.

At start (`Database.open(..., continuity=...)`, the check in bot/db/loss_check.py) a database that is
empty, another one, or behind the record is refused with `DataLossError`, which says what was lost and
how to go on. Accepting the loss
(`--accept-data-loss`) re-baselines the record and stores, in the database, per server the newest round
the lost database held: rounds not newer than that are imported again without posts (bot/ingest).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bot.db.tx import SyncTx
from bot.errors import DatabaseError

RECORD_SUFFIX = ".watermark"
PG_RECORD_PREFIX = "statsbot-postgresql-"
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
    data_dir: Path | None = None  # where a PostgreSQL database's record is kept (SQLite: beside the file)


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


@dataclass(frozen=True, slots=True)
class Site:
    """One database as the record sees it: its engine, how messages name it, where its record is."""

    engine: str  # "sqlite" or "postgresql"
    name: str  # the file's path, or the URL without its password
    record: Path
    db_file: Path | None = None  # SQLite: the database file (its WAL is fsynced before the record)
    # PostgreSQL with `synchronous_commit` off: a commit is visible before its WAL is flushed, so the
    # record waits for the flush (with it on, the default, a commit is visible only once flushed).
    asynchronous_commit: bool = False

    @property
    def on_postgresql(self) -> bool:
        return self.engine == "postgresql"


def sqlite_site(db_path: Path) -> Site:
    return Site("sqlite", str(db_path), record_path(db_path), db_path)


def pg_record_key(url: str) -> str:
    """What tells configured PostgreSQL databases apart: host, port, database and options (a search_path)
    of the URL, never the user or the password. 12 hex digits of their SHA-256."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(url)
    where = [str(params.get(k) or "") for k in ("host", "hostaddr", "port", "dbname", "options")]
    return hashlib.sha256("\0".join(where).encode()).hexdigest()[:12]


def pg_site(url: str, name: str, data_dir: Path, *, asynchronous_commit: bool = False) -> Site:
    """`url`'s record in this instance's data_dir; `name` is the URL without its password."""
    record = data_dir / f"{PG_RECORD_PREFIX}{pg_record_key(url)}{RECORD_SUFFIX}"
    return Site("postgresql", name, record, asynchronous_commit=asynchronous_commit)


# --- SQL (worker thread) ------------------------------------------------------------------------

_NEWEST_SQL = (
    # One index seek per server (rounds_server_played), never a scan: cheap with 100,000 rounds.
    "WITH RECURSIVE s(server) AS (SELECT min(server) FROM rounds UNION ALL "
    "SELECT (SELECT min(server) FROM rounds WHERE server > s.server) FROM s WHERE s.server IS NOT NULL) "
    "SELECT server, (SELECT max(played_at) FROM rounds r WHERE r.server = s.server) FROM s "
    "WHERE server IS NOT NULL"
)


# Highest round id ever given: SQLite's AUTOINCREMENT mark; PostgreSQL's identity sequence (NULL, i.e. 0,
# before its first value).
_ROUNDS_SEQ_SQL = {
    "sqlite": "SELECT seq FROM sqlite_sequence WHERE name = 'rounds'",
    "postgresql": "SELECT pg_sequence_last_value(CAST(pg_get_serial_sequence('rounds', 'id') AS regclass))",
}


def read_marks(stx: SyncTx, engine: str = "sqlite") -> Marks:
    instance = stx.fetchone("SELECT instance_id FROM instance WHERE id = 1")
    seq = stx.fetchone(_ROUNDS_SEQ_SQL[engine])
    rounds = stx.fetchone("SELECT count(*) FROM rounds")
    sent = stx.fetchone("SELECT id FROM outbox WHERE state = 'sent' ORDER BY id DESC LIMIT 1")
    newest = {str(r[0]): str(r[1]) for r in stx.fetchall(_NEWEST_SQL)}
    return Marks(
        instance_id=str(instance[0]) if instance else "",
        rounds_seq=int(seq[0]) if seq and seq[0] is not None else 0,
        rounds=int(rounds[0]) if rounds else 0,
        sent_max=int(sent[0]) if sent else 0,
        newest=newest,
    )


def pg_insert_lsn(stx: SyncTx) -> str:
    """Where PostgreSQL's WAL ends now: every commit seen so far is before it."""
    row = stx.fetchone("SELECT CAST(pg_current_wal_insert_lsn() AS TEXT)")
    if row is None:
        raise DatabaseError("pg_current_wal_insert_lsn() returned nothing")
    return str(row[0])


PG_FLUSHED_SQL = "SELECT pg_current_wal_flush_lsn() >= CAST(? AS pg_lsn)"
FLUSH_WAIT_SECONDS = 5.0  # the WAL writer flushes asynchronous commits within 3 × wal_writer_delay


def wait_flushed(stx: SyncTx, lsn: str) -> None:
    """Block until PostgreSQL has flushed its WAL up to `lsn` (DatabaseError past FLUSH_WAIT_SECONDS)."""
    deadline = time.monotonic() + FLUSH_WAIT_SECONDS
    while True:
        row = stx.fetchone(PG_FLUSHED_SQL, (lsn,))
        if row is not None and row[0]:
            return
        if time.monotonic() > deadline:
            raise DatabaseError(f"PostgreSQL has not flushed its WAL up to {lsn} yet")
        time.sleep(0.02)


def is_empty(stx: SyncTx) -> bool:
    for table in ("rounds", "processed_files", "outbox"):
        if stx.fetchone(f"SELECT 1 FROM {table} LIMIT 1") is not None:
            return False
    return True


def _quiet_until(stx: SyncTx) -> dict[str, str]:
    row = stx.fetchone("SELECT quiet_until FROM instance WHERE id = 1")
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


def set_quiet_until(stx: SyncTx, lost: Mapping[str, str]) -> dict[str, str]:
    merged = _quiet_until(stx)
    for server, played_at in lost.items():
        merged[server] = max(played_at, merged.get(server, ""))
    stx.execute("UPDATE instance SET quiet_until = ? WHERE id = 1", (json.dumps(merged, sort_keys=True),))
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


def find_record(site: Site, instance_id: str) -> tuple[Path, Record | None]:
    """The record of `site`, and where it is. PostgreSQL: when the configured address has none, the
    newest record in the data_dir that names this database's instance id (the same database reached
    under another address, or restored into a new database with the URL pointed at it: still checked)."""
    record = read_record(site.record)
    if record is not None or not site.on_postgresql or not instance_id:
        return site.record, record
    found: list[tuple[float, Path, Record]] = []
    for path in site.record.parent.glob(f"{PG_RECORD_PREFIX}*{RECORD_SUFFIX}"):
        other = read_record(path)
        if other is not None and other.marks.instance_id == instance_id:
            found.append((other.written_at, path, other))
    if not found:
        return site.record, None
    _, path, record = max(found, key=lambda f: f[0])
    return path, record


def write_record(stx: SyncTx, site: Site) -> Marks:
    """Read the marks, make what they describe durable, then replace the record atomically (whatever it
    said before: a new install, or a loss accepted)."""
    marks = read_marks(stx, site.engine)
    if site.db_file is not None:
        persist(site.db_file, marks)
        return marks
    if site.asynchronous_commit:
        wait_flushed(stx, pg_insert_lsn(stx))
    persist_pg(site, marks, rebaseline=True)
    return marks


class RecordAhead(DatabaseError):
    """The database is behind (or another than) the record while running: the record is kept."""


def persist_pg(site: Site, marks: Marks, *, rebaseline: bool = False) -> None:
    """Record `marks` of a PostgreSQL database, read from it after commit and durable there (the caller
    waited for the WAL flush when its commits are asynchronous). Never lowers the record unless
    `rebaseline` (the start-up check): a database behind the record, or another one, raises RecordAhead
    and the record stays as it is, so that the next start refuses that database."""
    with _PERSIST_LOCK:
        if not rebaseline:
            old = read_record(site.record)
            if old is not None and (old.marks.instance_id != marks.instance_id or marks.behind(old.marks)):
                raise RecordAhead(
                    f"{site.name} holds less than its record {site.record.name} (instance "
                    f"{marks.instance_id}, round ids up to {marks.rounds_seq}, posted up to "
                    f"{marks.sent_max}; the record: instance {old.marks.instance_id}, "
                    f"{old.marks.rounds_seq}, {old.marks.sent_max}): the record is kept and the next "
                    "start refuses the database"
                )
        site.record.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(site.record, marks, database=site.name)


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


def _write_atomic(path: Path, marks: Marks, *, database: str | None = None) -> None:
    now = dt.datetime.now(dt.UTC).timestamp()
    data: dict[str, object] = {"version": RECORD_VERSION, "marks": asdict(marks), "written_at": now}
    if database is not None:  # PostgreSQL: which database the file is about (the name is a digest)
        data["database"] = database
    body = json.dumps(data, sort_keys=True)
    # Per process: on PostgreSQL a daemon and an operator's command on one host may both write it.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, body.encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_path(path.parent)
