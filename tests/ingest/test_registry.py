"""The layered processed-check against a real SQLite database made by the real migrations."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.db import files as dbfiles
from bot.db import ops_queries
from bot.db.connection import Database
from bot.ingest.importer import ImportSettings, import_file
from bot.ingest.registry import MemoryCache, Registry
from bot.ingest.source import RemoteEntry
from tests.helpers.engines import NewStore

SERVER = "main"
NOW = 1_800_000_000.0


def entry(name: str, size: int = 100, mtime: int = 1_700_000_000) -> RemoteEntry:
    return RemoteEntry(name=name, size=size, mtime=mtime, is_file=True)


def names(n: int, start: int = 0) -> list[str]:
    """Distinct valid stats-file names, one second apart."""
    out = []
    for i in range(start, start + n):
        day, rest = divmod(i, 86400)
        stamp = f"{rest // 3600:02d}{rest // 60 % 60:02d}{rest % 60:02d}"
        out.append(f"2025-10-{1 + day % 28:02d}-{stamp}-supply-round-1.txt")
    return out


@pytest.fixture
async def db(new_store: NewStore) -> AsyncIterator[Database]:
    database = await Database.open(new_store("statsbot.db"))
    try:
        yield database
    finally:
        await database.close()


async def set_states(db: Database, rows: list[tuple[str, str, int, int]], **extra: object) -> None:
    async with db.transaction() as tx:
        for name, state, size, mtime in rows:
            await dbfiles.set_state(tx, SERVER, name, state, now=NOW, size=size, mtime=mtime, **extra)  # type: ignore[arg-type]


async def registry(db: Database, local: Path) -> Registry:
    return Registry(db, SERVER, local, await MemoryCache.load(db))


async def test_done_files_cost_no_query(db: Database, tmp_path: Path) -> None:
    done = names(1000)
    await set_states(db, [(n, "imported", 100, 1_700_000_000) for n in done])
    reg = await registry(db, tmp_path / "local")
    before = db.statements
    plan = await reg.plan([entry(n) for n in done], now=NOW)
    assert db.statements == before  # layer 1 answered everything: zero SQL
    assert plan.memory == 1000
    assert (plan.settle, plan.fetch, plan.import_local, plan.new) == ([], [], [], 0)


async def test_new_files_are_recorded_seen_in_a_constant_number_of_statements(
    db: Database, tmp_path: Path
) -> None:
    reg = await registry(db, tmp_path / "local")
    few_before = db.statements
    await reg.plan([entry(n) for n in names(3)], now=NOW)
    few = db.statements - few_before
    many_before = db.statements
    plan = await reg.plan([entry(n) for n in names(300, start=10)], now=NOW)
    # layer 4 asks once per never-seen name; everything else is batched
    assert db.statements - many_before - 300 <= few - 3
    assert plan.new == 300
    assert [c.entry.name for c in plan.settle] == names(300, start=10)
    rows = await dbfiles.get_rows(db, SERVER, names(300, start=10))
    assert {r.state for r in rows.values()} == {"seen"}


async def test_table_states_decide(db: Database, tmp_path: Path) -> None:
    n = names(7)
    await set_states(db, [(n[0], "seen", 100, 1), (n[1], "imported", 100, 1)])
    await set_states(db, [(n[2], "failed", 100, 1)], next_attempt_at=NOW - 1)
    await set_states(db, [(n[3], "failed", 100, 1)], next_attempt_at=NOW + 60)
    await set_states(db, [(n[4], "quarantined", 100, 1), (n[5], "quarantined", 100, 1)])
    await set_states(db, [(n[6], "downloaded", 100, 1)])
    local = tmp_path / "local"
    local.mkdir()
    (local / n[6]).write_bytes(b"x" * 100)
    reg = Registry(db, SERVER, local, MemoryCache())  # empty memory: the table decides everything
    plan = await reg.plan(
        [entry(n[0], mtime=1), entry(n[1], mtime=1), entry(n[2], mtime=1), entry(n[3], mtime=1),
         entry(n[4], mtime=1), entry(n[5], size=150, mtime=2), entry(n[6], mtime=1)],
        now=NOW,
    )  # fmt: skip
    assert [c.entry.name for c in plan.settle] == [n[0], n[5]]  # seen; quarantined but changed
    assert [c.entry.name for c in plan.fetch] == [n[2]]  # failed and due
    assert plan.waiting == {n[3]: NOW + 60}  # failed, backoff not over
    assert [(c.entry.name, c.local) for c in plan.import_local] == [(n[6], local / n[6])]
    assert plan.table == 7
    # final rows found in the table are added to memory: next time layer 1 answers
    assert reg.is_done(n[1], 100, 1)
    assert reg.is_done(n[4], 100, 1)
    assert not reg.is_done(n[4], 101, 1)  # quarantined: re-evaluated when size/mtime change


async def test_local_copy_saves_the_download_but_proves_nothing(db: Database, tmp_path: Path) -> None:
    local = tmp_path / "local"
    local.mkdir()
    n = names(2)
    (local / n[0]).write_bytes(b"y" * 100)  # same size as the remote
    (local / n[1]).write_bytes(b"y" * 99)  # a truncated copy: not usable
    reg = await registry(db, local)
    plan = await reg.plan([entry(n[0]), entry(n[1])], now=NOW)
    assert plan.local == 1
    assert [(c.entry.name, c.local) for c in plan.settle] == [(n[0], local / n[0]), (n[1], None)]
    rows = await dbfiles.get_rows(db, SERVER, n)
    assert {r.state for r in rows.values()} == {"seen"}  # still must settle, be hashed and imported


async def test_round_without_registry_row_is_repaired_and_skipped(
    db: Database, tmp_path: Path, samples_dir: Path
) -> None:
    name = "2025-10-02-232339-erdenberg_t2-round-1.txt"
    data = (samples_dir / name).read_bytes()
    settings = ImportSettings(
        session_gap=3600, pairing_window=2700, max_attempts=3, retry_base_seconds=30, retry_max_seconds=600
    )
    outcome = await import_file(
        db, server=SERVER, filename=name, size=len(data), mtime=5, data=data,
        sha256=hashlib.sha256(data).hexdigest(), settings=settings, now=NOW,
    )  # fmt: skip
    assert outcome.state == "imported"
    async with db.transaction() as tx:
        await ops_queries.delete_registry_rows(tx, SERVER, [name])
    assert await dbfiles.get_rows(db, SERVER, [name]) == {}
    reg = await registry(db, tmp_path / "local")
    plan = await reg.plan([entry(name, size=len(data), mtime=5)], now=NOW)
    assert plan.rounds == 1
    assert plan.new == 0
    assert plan.settle == []
    row = (await dbfiles.get_rows(db, SERVER, [name]))[name]
    assert row.state == "imported"
    assert row.round_id == outcome.round_id
    assert reg.is_done(name, len(data), 5)


async def test_complete_listings_record_deletions_in_constant_queries(db: Database, tmp_path: Path) -> None:
    done = names(1000)
    await set_states(db, [(n, "imported", 100, 1_700_000_000) for n in done])
    async with db.transaction() as tx:  # the daemon saw them on the server
        for n in done:
            await dbfiles.add_event(tx, SERVER, n, "seen", {}, NOW)
    reg = await registry(db, tmp_path / "local")
    await reg.plan([entry(n) for n in done], now=NOW, complete=True)  # loads the gone set once
    before = db.statements
    plan = await reg.plan([entry(n) for n in done], now=NOW, complete=True)
    assert db.statements == before  # nothing deleted: still zero SQL
    assert plan.gone == 0

    plan = await reg.plan([entry(n) for n in done[10:]], now=NOW + 1, complete=True)
    assert plan.gone == 10
    gone = await ops_queries.registry_rows(db, SERVER)
    assert sorted(r.filename for r in gone if r.remote_gone_at == NOW + 1) == sorted(done[:10])
    before = db.statements
    assert (await reg.plan([entry(n) for n in done[10:]], now=NOW + 2, complete=True)).gone == 0
    assert db.statements == before  # recorded once, not per listing

    # A partial look (stat of a few files) or an empty listing never records a deletion.
    assert (await reg.plan([entry(done[500])], now=NOW + 3)).gone == 0
    assert (await reg.plan([], now=NOW + 3, complete=True)).gone == 0
    plan = await reg.plan([entry(n) for n in done], now=NOW + 4, complete=True)
    assert (plan.gone, plan.back) == (0, 10)
    assert all(r.remote_gone_at is None for r in await ops_queries.registry_rows(db, SERVER))


async def test_files_without_history_are_gone_once_this_process_listed_them(
    db: Database, tmp_path: Path
) -> None:
    """A backfilled file (`statsbot import`, no `seen` event) missing from the first listing may never have
    been on the server; one the daemon listed itself and then no longer lists is gone."""
    done = names(4)
    await set_states(db, [(n, "imported", 100, 1_700_000_000) for n in done])
    reg = await registry(db, tmp_path / "local")
    first = await reg.plan([entry(n) for n in done[1:]], now=NOW, complete=True)
    assert first.gone == 0  # done[0]: never seen on this server, not a deletion
    later = await reg.plan([entry(n) for n in done[2:]], now=NOW + 1, complete=True)
    assert later.gone == 1  # done[1] was listed by this process: deleted on the server
    rows = {r.filename: r for r in await ops_queries.registry_rows(db, SERVER)}
    assert (rows[done[0]].remote_gone_at, rows[done[1]].remote_gone_by) == (None, "server")
