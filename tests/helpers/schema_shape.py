"""The shape of a schema, read from SQLite or PostgreSQL into the same normalised form, to compare them.

Tables; per table its columns in order (name, type class, NOT NULL, default), primary key, UNIQUE
constraints, CHECK count, foreign keys; named indexes (unique flag, column list with DESC and '<expr>'
for expressions, partial flag); triggers (table, timing, event, UPDATE OF columns).
A PRIMARY KEY column counts as NOT NULL on both sides (PostgreSQL enforces it; SQLite only for INTEGER
PRIMARY KEY and WITHOUT ROWID tables, its documented legacy quirk).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any

import psycopg

SQLITE_TYPES = {"INTEGER": "int", "REAL": "float", "TEXT": "text", "BLOB": "bytes"}
PG_TYPES = {"bigint": "int", "double precision": "float", "text": "text", "bytea": "bytes"}
STATEMENT_TRIGGERS = frozenset({"round_bests_add", "round_bests_remove"})  # PostgreSQL, 0013
PG_ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

Column = tuple[str, str, bool, str | None]
ForeignKey = tuple[tuple[str, ...], str, tuple[str, ...], str]
Index = tuple[str, bool, tuple[str, ...], bool]
Trigger = tuple[str, str, str, str, tuple[str, ...]]


@dataclass(frozen=True)
class Table:
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    uniques: frozenset[tuple[str, ...]]
    checks: int
    foreign_keys: frozenset[ForeignKey]


@dataclass(frozen=True)
class Shape:
    tables: dict[str, Table]
    indexes: dict[str, Index]
    triggers: frozenset[Trigger]


def _default(value: Any) -> str | None:
    if value is None:
        return None
    text = re.sub(r"::(text|bigint|integer|double precision)\b", "", str(value)).strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    return text


_TRIGGER = re.compile(
    r"CREATE TRIGGER (\w+) (BEFORE|AFTER) (INSERT|DELETE|UPDATE)(?: OF ([\w, ]+?))? ON (\w+)", re.I
)


def sqlite_shape(conn: sqlite3.Connection) -> Shape:
    tables: dict[str, Table] = {}
    indexes: dict[str, Index] = {}
    master = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
    )
    rows = master.fetchall()
    for kind, name, _tbl, sql in rows:
        if kind != "table":
            continue
        info = conn.execute(f"PRAGMA table_info({name})").fetchall()
        cols = tuple(
            (str(c[1]), SQLITE_TYPES[str(c[2]).upper()], bool(c[3]) or c[5] > 0, _default(c[4])) for c in info
        )
        pk = tuple(str(c[1]) for c in sorted((c for c in info if c[5] > 0), key=lambda c: int(c[5])))
        uniques: set[tuple[str, ...]] = set()
        for _seq, iname, unique, origin, partial in conn.execute(f"PRAGMA index_list({name})").fetchall():
            keys = tuple(
                (str(x[2]) if x[2] is not None else "<expr>") + (" DESC" if x[3] else "")
                for x in conn.execute(f"PRAGMA index_xinfo({iname})").fetchall()
                if x[5]
            )
            if origin == "u":
                uniques.add(keys)
            elif origin == "c":
                indexes[str(iname)] = (str(name), bool(unique), keys, bool(partial))
        fks: dict[int, list[Any]] = {}
        for fk in conn.execute(f"PRAGMA foreign_key_list({name})").fetchall():
            fks.setdefault(int(fk[0]), []).append(fk)
        foreign = frozenset(
            (
                tuple(str(r[3]) for r in group),
                str(group[0][2]),
                tuple(str(r[4]) for r in group),
                str(group[0][6]),
            )
            for group in fks.values()
        )
        checks = len(re.findall(r"\bCHECK\s*\(", str(sql), re.I))
        tables[str(name)] = Table(cols, pk, frozenset(uniques), checks, foreign)
    triggers = set()
    for kind, _name, _tbl, sql in rows:
        if kind == "trigger":
            m = _TRIGGER.search(str(sql))
            assert m is not None, sql
            of = tuple(sorted(c.strip() for c in m.group(4).split(","))) if m.group(4) else ()
            triggers.add((m.group(1), m.group(5), m.group(2).upper(), m.group(3).upper(), of))
    return Shape(tables, indexes, frozenset(triggers))


def pg_shape(conn: psycopg.Connection[Any]) -> Shape:
    def attnames(relid: int, nums: list[int]) -> tuple[str, ...]:
        names = dict(
            conn.execute("SELECT attnum, attname FROM pg_attribute WHERE attrelid = %s", (relid,)).fetchall()
        )
        return tuple(str(names[n]) if n else "<expr>" for n in nums)

    tables: dict[str, Table] = {}
    rels = conn.execute(
        "SELECT c.oid, c.relname FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace "
        "AND c.relkind = 'r'"
    ).fetchall()
    for relid, name in rels:
        cols = tuple(
            (str(r[0]), PG_TYPES[str(r[1])], r[2] == "NO", _default(r[3]))
            for r in conn.execute(
                "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
                (name,),
            ).fetchall()
        )
        cons = conn.execute(
            "SELECT contype, conkey::int[], confrelid::regclass::text, confkey::int[], confdeltype, "
            "confrelid FROM pg_constraint WHERE conrelid = %s",
            (relid,),
        ).fetchall()
        pk = next((attnames(relid, c[1]) for c in cons if c[0] == "p"), ())
        uniques = frozenset(attnames(relid, c[1]) for c in cons if c[0] == "u")
        foreign = frozenset(
            (attnames(relid, c[1]), str(c[2]), attnames(int(c[5]), c[3]), PG_ON_DELETE[str(c[4])])
            for c in cons
            if c[0] == "f"
        )
        checks = sum(1 for c in cons if c[0] == "c")
        tables[str(name)] = Table(cols, pk, uniques, checks, foreign)
    indexes: dict[str, Index] = {}
    for iname, table, relid, unique, partial, keys, options in conn.execute(
        "SELECT i.relname, t.relname, t.oid, x.indisunique, x.indpred IS NOT NULL, x.indkey::int2[], "
        "x.indoption::int2[] FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_class t ON t.oid = x.indrelid WHERE t.relnamespace = current_schema()::regnamespace "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)"
    ).fetchall():
        names = attnames(int(relid), list(keys))
        cols = tuple(n + (" DESC" if opt & 1 else "") for n, opt in zip(names, options, strict=True))
        indexes[str(iname)] = (str(table), bool(unique), cols, bool(partial))
    triggers = set()
    for tname, table, relid, tgtype, attrs in conn.execute(
        "SELECT g.tgname, t.relname, t.oid, g.tgtype, g.tgattr::int2[] FROM pg_trigger g "
        "JOIN pg_class t ON t.oid = g.tgrelid WHERE NOT g.tgisinternal "
        "AND t.relnamespace = current_schema()::regnamespace"
    ).fetchall():
        # SQLite triggers are row triggers; PostgreSQL keeps round_bests (0013) per statement, over its
        # transition table (same end state, checked by tests/db/test_pg_triggers.py).
        assert tgtype & 1 or tname in STATEMENT_TRIGGERS, f"{tname} is not FOR EACH ROW"
        timing = "BEFORE" if tgtype & 2 else "AFTER"
        event = "INSERT" if tgtype & 4 else "DELETE" if tgtype & 8 else "UPDATE"
        triggers.add(
            (str(tname), str(table), timing, event, tuple(sorted(attnames(int(relid), list(attrs)))))
        )
    return Shape(tables, indexes, frozenset(triggers))
