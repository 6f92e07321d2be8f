"""executemany of a plain INSERT: the same rows back on both engines (PostgreSQL sends them by COPY)."""

from __future__ import annotations

import pytest

from bot.db.connection import Database
from bot.db.tx import DRIVER_ERRORS, SyncTx

INSERT = "INSERT INTO file_events(server, filename, at, event, detail) VALUES (?, ?, ?, ?, ?)"
# What COPY's text format must escape, and what it must not take for its own markers.
AWKWARD = ["tab\there", "new\nline", "back\\slash", "\\N", "carriage\rreturn", "100%", "^1Ünïcode ☠", ""]


def _rows() -> list[tuple[object, ...]]:
    return [("main", name, 1.5 + i, "imported", f'{{"i": {i}}}') for i, name in enumerate(AWKWARD)]


def _insert(stx: SyncTx, rows: list[tuple[object, ...]]) -> int:
    return stx.executemany(INSERT, rows)


async def test_rows_come_back_as_written(store_db: Database) -> None:
    before = store_db.statements
    count = await store_db.run_transaction(_insert, _rows())
    assert count == len(AWKWARD)
    assert store_db.statements - before == 3  # BEGIN, ONE statement for every row, COMMIT
    got = await store_db.fetchall("SELECT server, filename, at, event, detail FROM file_events ORDER BY id")
    assert [tuple(r) for r in got] == _rows()


async def test_a_failing_row_rolls_the_transaction_back(store_db: Database) -> None:
    rows = [*_rows(), ("main", "null detail", 9.0, "imported", None)]  # detail is NOT NULL
    with pytest.raises(DRIVER_ERRORS):
        await store_db.run_transaction(_insert, rows)
    assert await store_db.fetchall("SELECT id FROM file_events") == []
