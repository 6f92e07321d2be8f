"""Registry SQL: record_seen, set_state, the one-query memory layer, batched lookups, history."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bot.db import files, rounds
from bot.db.connection import Database
from tests.helpers.store import import_path


async def test_record_seen_inserts_only_new_names(db: Database) -> None:
    async with db.transaction() as tx:
        assert await files.record_seen(tx, "main", [("a.txt", 10, 100), ("b.txt", 20, 200)], now=5.0) == 2
    async with db.transaction() as tx:
        new = await files.record_seen(tx, "main", [("a.txt", 11, 101), ("c.txt", 30, 300)], now=6.0)
    assert new == 1
    rows = await files.get_rows(db, "main", ["a.txt", "b.txt", "c.txt", "missing.txt"])
    assert set(rows) == {"a.txt", "b.txt", "c.txt"}
    assert (rows["a.txt"].size, rows["a.txt"].mtime, rows["a.txt"].state) == (10, 100, "seen")
    assert rows["c.txt"].first_seen_at == 6.0
    assert [e.event for e in await files.events_for(db, "main", "a.txt")] == ["seen"]
    assert (await files.events_for(db, "main", "c.txt"))[0].detail == {"size": 30, "mtime": 300}
    # another server's rows are separate
    assert await files.get_rows(db, "other", ["a.txt"]) == {}


async def test_record_seen_costs_constant_statements(db: Database) -> None:
    entries = [(f"2025-01-01-{i:06d}-x-round-1.txt", i, i) for i in range(5000)]
    before = db.statements
    async with db.transaction() as tx:
        assert await files.record_seen(tx, "main", entries, now=1.0) == 5000
    assert db.statements - before == 5  # BEGIN, known-names query, 2 × executemany, COMMIT
    before = db.statements
    rows = await files.get_rows(db, "main", [e[0] for e in entries])
    assert len(rows) == 5000
    assert db.statements - before == 1


async def test_set_state_keeps_columns_not_given(db: Database) -> None:
    async with db.transaction() as tx:
        await files.record_seen(tx, "main", [("a.txt", 10, 100)], now=1.0)
        await files.set_state(tx, "main", "a.txt", "failed", now=2.0, attempts=1, last_error="cut short")
    row = await files.get_row(db, "main", "a.txt")
    assert row is not None
    assert (row.state, row.size, row.attempts, row.last_error, row.first_seen_at) == (
        "failed",
        10,
        1,
        "cut short",
        1.0,
    )
    async with db.transaction() as tx:
        await files.set_state(tx, "main", "a.txt", "quarantined", now=3.0, last_error=None)
    row = await files.get_row(db, "main", "a.txt")
    assert row is not None
    assert (row.state, row.attempts, row.last_error, row.updated_at) == ("quarantined", 1, None, 3.0)
    assert row.is_final


async def test_set_state_creates_missing_rows(db: Database) -> None:
    async with db.transaction() as tx:
        await files.set_state(tx, "main", "x.txt", "ignored", now=7.0, size=3, mtime=4, sha256="ab")
    row = await files.get_row(db, "main", "x.txt")
    assert row is not None
    assert (row.state, row.size, row.mtime, row.sha256, row.first_seen_at) == ("ignored", 3, 4, "ab", 7.0)


async def test_load_final_keys_is_one_query_over_final_states(db: Database) -> None:
    async with db.transaction() as tx:
        for i, state in enumerate(files.STATES):
            await files.set_state(tx, "main", f"{state}.txt", state, now=1.0, size=i, mtime=i * 10)
    before = db.statements
    keys = await files.load_final_keys(db)
    assert db.statements - before == 1
    assert keys == {
        ("main", f"{s}.txt"): (i, i * 10, s) for i, s in enumerate(files.STATES) if s in files.FINAL_STATES
    }
    assert await files.count_by_state(db) == dict.fromkeys(files.STATES, 1)


async def test_due_retries_respects_backoff(db: Database) -> None:
    async with db.transaction() as tx:
        await files.set_state(tx, "main", "soon.txt", "failed", now=1.0, next_attempt_at=10.0)
        await files.set_state(tx, "main", "later.txt", "failed", now=1.0, next_attempt_at=99.0)
    assert [r.filename for r in await files.due_retries(db, "main", now=50.0)] == ["soon.txt"]
    assert [r.filename for r in await files.rows_in_state(db, "failed")] == ["later.txt", "soon.txt"]


async def test_add_event_history_in_order(db: Database) -> None:
    async with db.transaction() as tx:
        await files.add_event(tx, "main", "a.txt", "downloaded", {"bytes": 5}, now=1.0)
        await files.add_event(tx, "main", "a.txt", "imported", {"round_id": 3}, now=2.0)
    events = await files.events_for(db, "main", "a.txt")
    assert [(e.event, e.detail, e.at) for e in events] == [
        ("downloaded", {"bytes": 5}, 1.0),
        ("imported", {"round_id": 3}, 2.0),
    ]


async def test_batched_round_lookups_are_one_query_each(db: Database, samples_dir: Path) -> None:
    names = [p.name for p in sorted(samples_dir.glob("*-round-[12].txt"))[:4]]
    for name in names:
        await import_path(db, samples_dir / name, now=1.0)
    wanted = [*names[:3], "2025-01-01-000000-missing-round-1.txt"]
    before = db.statements
    ids = await files.rounds_for_files(db, "main", wanted)
    assert db.statements - before == 1
    assert set(ids) == set(names[:3])
    for name in names[:3]:
        stored_round = await rounds.get_round_by_file(db, "main", name)
        assert stored_round is not None
        assert ids[name] == stored_round.id
    assert await files.rounds_for_files(db, "other", names) == {}
    assert await files.rounds_for_files(db, "main", []) == {}

    hashes = [hashlib.sha256((samples_dir / n).read_bytes()).hexdigest() for n in names]
    found = await db.call(files.imported_by_shas_sync, [*hashes, "0" * 64])
    assert {h: (c.server, c.filename) for h, c in found.items()} == {
        h: ("main", n) for h, n in zip(hashes, names, strict=True)
    }
    stored = await db.call(rounds.rounds_by_files_sync, "main", wanted)
    assert {n: r.id for n, r in stored.items()} == ids
