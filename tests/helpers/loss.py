"""Losing a database on purpose, on either engine: what an operator's mistake or an old restore does.

A store is a SQLite file's path or a PostgreSQL URL whose search_path is one schema (tests/helpers/pg.py).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.helpers import pg


def wipe(store: Path | str) -> None:
    """Empty the database: the SQLite file truncated; the PostgreSQL schema dropped and made again (the
    next start migrates it afresh: a new, empty database with a new instance id)."""
    if isinstance(store, Path):
        store.write_bytes(b"")
        return
    with pg.connect(store) as conn:
        row = conn.execute("SELECT current_schema()").fetchone()
        assert row is not None
        conn.execute(f'DROP SCHEMA "{row[0]}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{row[0]}"')


def run_sql(store: Path | str, *statements: str) -> None:
    """Statements beside statsbot (the sqlite3 shell, psql), committed."""
    if isinstance(store, Path):
        conn = sqlite3.connect(store)
        try:
            for statement in statements:
                conn.execute(statement)
            conn.commit()
        finally:
            conn.close()
        return
    with pg.connect(store) as pg_conn:
        for statement in statements:
            pg_conn.execute(statement)


def forget_posts_after(store: Path | str, last: int) -> None:
    """Behind its record, as a restore of an older copy is: the posts after outbox id `last` are gone."""
    run_sql(store, f"DELETE FROM outbox WHERE id > {int(last)}")
