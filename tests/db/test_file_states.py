"""The processed_files state machine: every (from, to) pair through the real set_state on real SQLite."""

from __future__ import annotations

import pytest

from bot.db import files
from bot.db.connection import Database
from bot.db.file_states import STATES, TransitionRefused

# The whole table, written out (not derived from the code under test). Rows: the state a file is in
# (None: no registry row); columns, in this order: seen, downloaded, imported, failed, quarantined,
# duplicate, ignored. 1 = allowed, 0 = refused.
COLUMNS = ("seen", "downloaded", "imported", "failed", "quarantined", "duplicate", "ignored")
TABLE: dict[str | None, tuple[int, ...]] = {
    None: (1, 1, 1, 1, 1, 1, 1),
    "seen": (1, 1, 1, 1, 1, 1, 1),
    "downloaded": (0, 1, 1, 1, 1, 1, 1),
    "failed": (0, 1, 1, 1, 1, 1, 1),
    "quarantined": (0, 1, 1, 1, 1, 1, 1),
    "duplicate": (0, 1, 1, 1, 1, 1, 1),
    "ignored": (0, 1, 1, 1, 1, 1, 1),
    "imported": (0, 1, 1, 0, 1, 0, 0),
}
CASES = [(old, new, bool(ok)) for old, row in TABLE.items() for new, ok in zip(COLUMNS, row, strict=True)]


def test_the_table_covers_every_state() -> None:
    assert set(COLUMNS) == set(STATES)
    assert set(TABLE) == {None, *STATES}
    assert len(CASES) == 8 * 7


@pytest.mark.parametrize(("old", "new", "ok"), CASES, ids=[f"{o}->{n}" for o, n, _ in CASES])
async def test_transition(db: Database, old: str | None, new: str, ok: bool) -> None:
    if old is not None:  # (no row) -> old is allowed for every state: the setup goes through the real writer
        async with db.transaction() as tx:
            await files.set_state(tx, "main", "f.txt", old, now=1.0, size=10, mtime=20, attempts=2)
    if ok:
        async with db.transaction() as tx:
            await files.set_state(tx, "main", "f.txt", new, now=2.0, size=11, last_error="why")
        row = await files.get_row(db, "main", "f.txt")
        assert row is not None
        assert (row.state, row.size, row.last_error, row.updated_at) == (new, 11, "why", 2.0)
        return
    with pytest.raises(TransitionRefused) as refused:
        async with db.transaction() as tx:
            await files.set_state(tx, "main", "f.txt", new, now=2.0, size=11, last_error="why")
    assert (refused.value.old, refused.value.new) == (old, new)
    assert f"main/f.txt: state change {old} -> {new} refused" in str(refused.value)
    row = await files.get_row(db, "main", "f.txt")
    assert row is not None  # nothing written: state and columns as they were
    assert (row.state, row.size, row.mtime, row.last_error, row.updated_at) == (old, 10, 20, None, 1.0)


async def test_a_refusal_rolls_back_the_work_it_was_part_of(db: Database) -> None:
    async with db.transaction() as tx:
        await files.set_state(tx, "main", "f.txt", "imported", now=1.0)

    async def fail_it() -> None:
        async with db.transaction() as tx:
            await files.add_event(tx, "main", "f.txt", "failed", {"error": "x"}, 2.0)
            await files.set_state(tx, "main", "f.txt", "failed", now=2.0)

    with pytest.raises(TransitionRefused):
        await fail_it()
    assert [e.event for e in await files.events_for(db, "main", "f.txt")] == []
