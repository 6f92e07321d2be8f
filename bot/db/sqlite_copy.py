"""A PostgreSQL database copied into a new SQLite file: the backup when pg_dump is not installed.

Synchronous, on one worker thread: the PostgreSQL side is read in ONE read-only REPEATABLE READ
transaction (a consistent snapshot while the daemon goes on importing), the SQLite file is made by the
real migrations and filled in one transaction with its triggers dropped for the copy (SQLite cannot
disable a trigger; they are recreated from their own text before COMMIT), so the aggregate tables are
copied as they are, not counted twice. Each table's row count and checksum are then compared on both
sides (bot/db/table_copy.py). Restore: `statsbot db migrate --from FILE --to postgresql://…`.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bot.db import pg_engine
from bot.db import table_copy as tc
from bot.db.migrations_runner import apply_migrations
from bot.db.table_checksum import table_digest
from bot.db.tx import SyncTx

_SEQUENCE_SQL = "SELECT pg_sequence_last_value(CAST(pg_get_serial_sequence(?, ?) AS regclass))"


@dataclass
class _Counter:
    statements: int = 0


def logical_backup(url: str, dest: Path, chunk: int = 5000) -> list[str]:
    """Copy the database at `url` into the new SQLite file `dest`; returns the tables whose copy does
    not verify (empty: a good copy). `dest` must not exist."""
    source = pg_engine.connect(url, application_name="statsbot-backup", read_only=True)
    conn = sqlite3.connect(dest, isolation_level=None)
    try:
        pg = pg_engine.PgSyncTx(_Counter(), source)
        pg.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        shapes = tc.pg_shapes(pg)
        apply_migrations(conn)
        lite = SyncTx(_Counter(), conn)
        conn.execute("PRAGMA foreign_keys=OFF")  # rows arrive in key order, not in reference order
        triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
        conn.execute("BEGIN IMMEDIATE")
        for name, _sql in triggers:
            conn.execute(f"DROP TRIGGER {tc.q(name)}")
        for shape in shapes:
            conn.execute(f"DELETE FROM {tc.q(shape.name)}")  # the migrations' own rows (the instance id)
            _copy_table(pg, conn, shape, chunk)
            if shape.identity is not None:
                row = pg.fetchone(_SEQUENCE_SQL, (shape.name, shape.identity))
                _raise_sequence(
                    conn, shape.name, int(row[0]) if row is not None and row[0] is not None else 0
                )
        for _name, sql in triggers:
            conn.execute(sql)
        conn.execute("COMMIT")
        conn.execute("PRAGMA journal_mode=DELETE")
        bad = [s.name for s in shapes if table_digest(pg, s) != table_digest(lite, s)]
        problems = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
        return bad + ([f"integrity_check: {'; '.join(problems[:3])}"] if problems != ["ok"] else [])
    finally:
        conn.close()
        with contextlib.suppress(Exception):
            source.close()


def _copy_table(pg: SyncTx, conn: sqlite3.Connection, shape: tc.TableShape, chunk: int) -> None:
    cols = ", ".join(tc.q(c) for c in shape.columns)
    marks = ", ".join("?" * len(shape.columns))
    insert = f"INSERT INTO {tc.q(shape.name)} ({cols}) VALUES ({marks})"
    after = None
    index = shape.key_index()
    while rows := tc.read_chunk(pg, shape, after, chunk):
        conn.executemany(insert, rows)
        after = [rows[-1][i] for i in index]


def _raise_sequence(conn: sqlite3.Connection, table: str, value: int) -> None:
    """SQLite's AUTOINCREMENT mark at least PostgreSQL's sequence: ids used and deleted stay unused."""
    if not value:
        return
    updated = conn.execute(
        "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (value, table)
    ).rowcount
    if not updated:
        has_sequence = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone()
        autoincrement = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = ? AND sql LIKE '%AUTOINCREMENT%'", (table,)
        ).fetchone()
        if has_sequence and autoincrement:
            conn.execute("INSERT INTO sqlite_sequence(name, seq) VALUES (?, ?)", (table, value))
