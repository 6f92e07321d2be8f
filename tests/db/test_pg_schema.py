"""The PostgreSQL schema equals the SQLite schema after every migration version (tables, columns and
their type class, keys, UNIQUE/CHECK/foreign-key constraints, indexes, triggers)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from bot.db.migrations_runner import apply_migrations, discover
from bot.db.pg_migrations import apply_pg_migrations
from tests.helpers.schema_shape import Shape, pg_shape, sqlite_shape

LATEST = len(discover())


@pytest.fixture
def sqlite_conn() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    try:
        yield conn
    finally:
        conn.close()


def _differences(lite: Shape, post: Shape) -> list[str]:
    out: list[str] = []
    if set(lite.tables) != set(post.tables):
        out.append(
            f"tables: sqlite only {set(lite.tables) - set(post.tables)}, "
            f"pg only {set(post.tables) - set(lite.tables)}"
        )
    for name in sorted(set(lite.tables) & set(post.tables)):
        a, b = lite.tables[name], post.tables[name]
        for field in ("columns", "primary_key", "uniques", "checks", "foreign_keys"):
            if getattr(a, field) != getattr(b, field):
                out.append(f"{name}.{field}:\n  sqlite {getattr(a, field)}\n  pg     {getattr(b, field)}")
    for name in sorted(set(lite.indexes) | set(post.indexes)):
        if lite.indexes.get(name) != post.indexes.get(name):
            out.append(f"index {name}: sqlite {lite.indexes.get(name)} pg {post.indexes.get(name)}")
    if lite.triggers != post.triggers:
        out.append(
            f"triggers: sqlite only {lite.triggers - post.triggers}, pg only {post.triggers - lite.triggers}"
        )
    return out


def test_schemas_are_equal_after_every_version(
    sqlite_conn: sqlite3.Connection, pg_conn: psycopg.Connection[Any]
) -> None:
    seen_triggers = 0
    for version in range(1, LATEST + 1):
        assert apply_migrations(sqlite_conn, upto=version) == version
        assert apply_pg_migrations(pg_conn, upto=version) == version
        lite, post = sqlite_shape(sqlite_conn), pg_shape(pg_conn)
        assert lite.tables, "the comparison read nothing"
        assert _differences(lite, post) == [], f"after version {version}"
        seen_triggers = len(post.triggers)
    assert seen_triggers == 14  # 9 of 0007 (players), 3 of 0009 (player results), 2 of 0013 (round bests)


def test_the_comparison_sees_a_difference(
    sqlite_conn: sqlite3.Connection, pg_conn: psycopg.Connection[Any]
) -> None:
    """The equality above could pass vacuously if the readers saw nothing: each change is noticed."""
    apply_migrations(sqlite_conn)
    apply_pg_migrations(pg_conn)
    assert _differences(sqlite_shape(sqlite_conn), pg_shape(pg_conn)) == []
    changes = [
        ("DROP INDEX player_stats_player_dpm", "index player_stats_player_dpm"),
        ("ALTER TABLE history_imports ADD COLUMN extra TEXT", "history_imports.columns"),
        ("ALTER TABLE outbox ALTER COLUMN sent_at TYPE BIGINT", "outbox.columns"),
        ("ALTER TABLE outbox DROP CONSTRAINT outbox_nonce_key", "outbox.uniques"),
        ("ALTER TABLE rounds DROP CONSTRAINT rounds_status_check", "rounds.checks"),
        ("ALTER TABLE matches DROP CONSTRAINT matches_session_id_fkey", "matches.foreign_keys"),
        ("DROP TRIGGER rounds_map_insert ON rounds", "triggers"),
    ]
    for statement, expected in changes:
        pg_conn.execute(statement)
        found = _differences(sqlite_shape(sqlite_conn), pg_shape(pg_conn))
        assert any(d.startswith(expected) for d in found), (statement, found)
