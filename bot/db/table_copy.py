"""The SQL of copying a whole database table by table (`statsbot db migrate`, bot/ops/pg_copy.py).

Engine-neutral reads (keyset chunks in primary-key order; checksums in bot/db/table_checksum.py) run
on either engine's SyncTx; the PostgreSQL side adds what a copy into it needs: the schema read from its
catalog (columns, primary keys, foreign keys, identity columns), COPY with the user triggers disabled for the
chunk's transaction (the aggregate triggers must not count copied rows twice: the aggregate tables are
copied as they are), the fix-up of self-references, `setval` past the copied ids, and the progress
record `migration_copy` that makes an interrupted copy resumable.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.db.pg_engine import PgSyncTx
from bot.db.tx import SyncTx

MARKER = "migration_copy"
NOT_COPIED = frozenset({"schema_version", MARKER})  # each side has its own version history
# Rows the migrations themselves create (the instance id): a target holding only these is empty.
SEEDED = frozenset({"instance"})

_KINDS = {"int2": "int", "int4": "int", "int8": "int", "float4": "float", "float8": "float",
          "numeric": "float", "bytea": "bytes"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class TableShape:
    """What the copy and the checksum need to know of one table (read from the PostgreSQL catalog)."""

    name: str
    columns: tuple[str, ...]
    kinds: tuple[str, ...]  # per column: int | float | text | bytes
    key: tuple[str, ...]  # primary key columns
    self_refs: tuple[str, ...]  # columns referencing this table itself (copied NULL, fixed up after)
    identity: str | None  # the GENERATED identity column, if any

    def key_index(self) -> list[int]:
        return [self.columns.index(k) for k in self.key]


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# --- the target's schema --------------------------------------------------------------------------

_TABLES_SQL = """
SELECT c.oid, c.relname FROM pg_class c
WHERE c.relkind = 'r' AND c.relnamespace = CAST(current_schema() AS regnamespace)
ORDER BY c.relname"""
_COLUMNS_SQL = """
SELECT a.attname, t.typname, a.attidentity FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"""
_KEY_SQL = """
SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE i.indrelid = ? AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)"""
_FKEYS_SQL = """
SELECT c.conrelid, c.confrelid, a.attname FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
WHERE c.contype = 'f' AND c.connamespace = CAST(current_schema() AS regnamespace)"""


def pg_shapes(stx: SyncTx) -> list[TableShape]:
    """Every table of the target's schema but NOT_COPIED, parents before children (foreign keys)."""
    oids = {int(r[0]): str(r[1]) for r in stx.fetchall(_TABLES_SQL)}
    parents: dict[str, set[str]] = {name: set() for name in oids.values()}
    self_refs: dict[str, list[str]] = {name: [] for name in oids.values()}
    for child, parent, column in stx.fetchall(_FKEYS_SQL):
        c, p = oids[int(child)], oids[int(parent)]
        if c == p:
            self_refs[c].append(str(column))
        else:
            parents[c].add(p)
    shapes: list[TableShape] = []
    for oid, name in sorted(oids.items(), key=lambda item: item[1]):
        if name in NOT_COPIED:
            continue
        cols = stx.fetchall(_COLUMNS_SQL, (oid,))
        key = tuple(str(r[0]) for r in stx.fetchall(_KEY_SQL, (oid,)))
        if not key:
            raise ValueError(f"table {name} has no primary key: it cannot be copied in key order")
        identity = next((str(r[0]) for r in cols if r[2]), None)
        shapes.append(
            TableShape(
                name,
                tuple(str(r[0]) for r in cols),
                tuple(_KINDS.get(str(r[1]), "text") for r in cols),
                key,
                tuple(sorted(self_refs[name])),
                identity,
            )
        )
    return _parents_first(shapes, parents)


def _parents_first(shapes: list[TableShape], parents: dict[str, set[str]]) -> list[TableShape]:
    by_name = {s.name: s for s in shapes}
    done: list[TableShape] = []
    placed: set[str] = set(NOT_COPIED)
    while len(done) < len(shapes):
        ready = [s for s in shapes if s.name not in placed and parents[s.name] <= placed]
        if not ready:
            rest = sorted(set(by_name) - placed)
            raise ValueError(f"foreign keys form a cycle among {rest}: no copy order")
        for shape in ready:
            done.append(shape)
            placed.add(shape.name)
    return done


def sqlite_columns(stx: SyncTx) -> dict[str, set[str]]:
    """The source's tables (SQLite) and their columns."""
    tables = [str(r[0]) for r in stx.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!'"
    )]  # fmt: skip
    return {t: {str(r[1]) for r in stx.fetchall(f"PRAGMA table_info({q(t)})")} for t in tables}


def sqlite_sequences(stx: SyncTx) -> dict[str, int]:
    """AUTOINCREMENT high-water marks (ids deleted since are never reused: nor on the target)."""
    exists = stx.fetchone("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")
    if exists is None:
        return {}
    return {str(r[0]): int(r[1]) for r in stx.fetchall("SELECT name, seq FROM sqlite_sequence")}


def source_instance(stx: SyncTx) -> str:
    row = stx.fetchone("SELECT instance_id FROM instance WHERE id = 1")
    return str(row[0]) if row is not None else ""


# --- reads on either engine -----------------------------------------------------------------------


def read_chunk(
    stx: SyncTx, shape: TableShape, after: Sequence[Any] | None, limit: int
) -> list[tuple[Any, ...]]:
    """Up to `limit` rows after the key `after` (None: from the start), in primary-key order."""
    cols = ", ".join(q(c) for c in shape.columns)
    order = ", ".join(q(k) for k in shape.key)
    where, params = "", [*(after or ()), limit]
    if after is not None:
        where = f" WHERE ({order}) > ({', '.join('?' * len(shape.key))})"
    sql = f"SELECT {cols} FROM {q(shape.name)}{where} ORDER BY {order} LIMIT ?"
    return [tuple(r) for r in stx.fetchall(sql, params)]


def count_rows(stx: SyncTx, table: str) -> int:
    row = stx.fetchone(f"SELECT count(*) FROM {q(table)}")
    return int(row[0]) if row is not None else 0


# --- writes on the PostgreSQL target --------------------------------------------------------------

_MARKER_DDL = f"""
CREATE TABLE {MARKER} (
    tbl        TEXT COLLATE "C" PRIMARY KEY,
    source     TEXT COLLATE "C" NOT NULL,      -- the SQLite file copied
    instance   TEXT COLLATE "C" NOT NULL,      -- its instance id
    copied     BIGINT NOT NULL DEFAULT 0,
    last_key   TEXT COLLATE "C",               -- JSON list: the key of the last row copied
    state      TEXT COLLATE "C" NOT NULL DEFAULT 'rows' CHECK (state IN ('rows', 'refs', 'done')),
    updated_at DOUBLE PRECISION NOT NULL
)"""


@dataclass(frozen=True, slots=True)
class Progress:
    table: str
    source: str
    instance: str
    copied: int
    last_key: list[Any] | None
    state: str


def _pg(stx: SyncTx) -> PgSyncTx:
    if not isinstance(stx, PgSyncTx):
        raise TypeError("the copy target must be a PostgreSQL database")
    return stx


def marker_exists(stx: SyncTx) -> bool:
    row = stx.fetchone(f"SELECT to_regclass('{MARKER}') IS NOT NULL")
    return bool(row and row[0])


def read_progress(stx: SyncTx) -> dict[str, Progress]:
    if not marker_exists(stx):
        return {}
    rows = stx.fetchall(f"SELECT tbl, source, instance, copied, last_key, state FROM {MARKER}")
    return {
        str(r[0]): Progress(
            str(r[0]), str(r[1]), str(r[2]), int(r[3]), json.loads(r[4]) if r[4] else None, str(r[5])
        )
        for r in rows
    }


def start_copy(stx: SyncTx, shapes: Sequence[TableShape], source: str, instance: str) -> None:
    """Empty every copied table and record that this copy started (one transaction: all or nothing)."""
    names = ", ".join(q(s.name) for s in shapes)
    stx.execute(f"TRUNCATE {names} RESTART IDENTITY")
    stx.execute(f"DROP TABLE IF EXISTS {MARKER}")
    stx.execute(_MARKER_DDL)
    stx.executemany(
        f"INSERT INTO {MARKER}(tbl, source, instance, updated_at) VALUES (?, ?, ?, ?)",
        [(s.name, source, instance, time.time()) for s in shapes],
    )


def copy_rows(stx: SyncTx, shape: TableShape, rows: Sequence[tuple[Any, ...]], *, last: bool) -> None:
    """COPY one chunk (self-references NULL until the fix-up) with the table's user triggers off for
    this transaction only, and record the progress in the same transaction."""
    table = q(shape.name)
    blank = [shape.columns.index(c) for c in shape.self_refs]
    stx.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    if rows:
        cols = ", ".join(q(c) for c in shape.columns)
        with _pg(stx).pg.cursor().copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in rows:
                if blank:
                    row = tuple(None if i in blank else v for i, v in enumerate(row))
                copy.write_row(row)
    stx.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    key = [rows[-1][i] for i in shape.key_index()] if rows else None
    state = ("refs" if shape.self_refs else "done") if last else "rows"
    stx.execute(
        f"UPDATE {MARKER} SET copied = copied + ?, last_key = coalesce(?, last_key), state = ?, "
        "updated_at = ? WHERE tbl = ?",
        (len(rows), json.dumps(key) if key is not None else None, state, time.time(), shape.name),
    )


def read_refs(stx: SyncTx, shape: TableShape, column: str) -> list[tuple[Any, ...]]:
    """(value, key...) of the rows whose self-reference `column` is set (a few: R1/R2 pairs, corrections)."""
    keys = ", ".join(q(k) for k in shape.key)
    sql = f"SELECT {q(column)}, {keys} FROM {q(shape.name)} WHERE {q(column)} IS NOT NULL ORDER BY {keys}"
    return [tuple(r) for r in stx.fetchall(sql)]


def fix_refs(
    stx: SyncTx, shape: TableShape, column: str, rows: Sequence[tuple[Any, ...]], *, last: bool
) -> None:
    """Set the self-references copied as NULL (idempotent: a resumed copy runs it again)."""
    table = q(shape.name)
    where = " AND ".join(f"{q(k)} = ?" for k in shape.key)
    stx.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    stx.executemany(f"UPDATE {table} SET {q(column)} = ? WHERE {where}", rows)
    stx.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    if last:
        stx.execute(
            f"UPDATE {MARKER} SET state = 'done', updated_at = ? WHERE tbl = ?", (time.time(), shape.name)
        )


def advance_identity(stx: SyncTx, shape: TableShape, floor: int) -> int:
    """setval the identity sequence past every copied id (and past `floor`, SQLite's AUTOINCREMENT mark):
    the next row gets a new id. Returns the value set (0: empty, the next id is 1)."""
    if shape.identity is None:
        return 0
    row = stx.fetchone(f"SELECT coalesce(max({q(shape.identity)}), 0) FROM {q(shape.name)}")
    top = max(int(row[0]) if row is not None else 0, floor)
    seq = "pg_get_serial_sequence(?, ?)"
    if top > 0:
        stx.execute(f"SELECT setval({seq}, ?, true)", (shape.name, shape.identity, top))
    else:
        stx.execute(f"SELECT setval({seq}, 1, false)", (shape.name, shape.identity))
    return top


def finish_copy(stx: SyncTx) -> None:
    """The copy is complete and verified: the progress record goes (the daemon may open the database)."""
    stx.execute(f"DROP TABLE IF EXISTS {MARKER}")
