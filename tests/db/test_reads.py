"""The read-only connection: its own thread and snapshot; chat reads and imports never wait for each other."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path

import pytest

from bot.config import Settings
from bot.db.connection import Database
from bot.db.tx import DRIVER_ERRORS
from bot.errors import DatabaseError
from bot.factory import import_settings
from bot.ingest.importer import import_file

# A read that keeps SQLite busy for a while (a recursive count, no table needed).
SLOW_READ = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000000) "
    "SELECT count(*) FROM c, (SELECT count(*) FROM rounds) AS r"
)
FILE = "2025-10-02-211808-etl_adlernest-round-1.txt"


async def test_an_import_commits_while_a_slow_read_runs(db: Database, samples_dir: Path) -> None:
    data = (samples_dir / FILE).read_bytes()
    started = time.perf_counter()
    slow = asyncio.create_task(db.reads.fetchone(SLOW_READ))
    await asyncio.sleep(0.05)  # the read is running on the read thread
    outcome = await import_file(
        db, server="main", filename=FILE, size=len(data), mtime=0, data=data,
        sha256=hashlib.sha256(data).hexdigest(), settings=import_settings(Settings.from_values()), now=1.0,
    )  # fmt: skip
    imported_after = time.perf_counter() - started
    assert outcome.state == "imported"
    assert not slow.done(), "the import waited for the slow read"
    row = await slow
    read_took = time.perf_counter() - started
    assert row is not None
    assert row[0] == 4000000
    assert imported_after < read_took
    # The read connection now sees the committed round (a fresh snapshot per statement).
    assert (await db.reads.fetchone("SELECT count(*) FROM rounds"))[0] == 1  # type: ignore[index]


async def test_a_chat_read_does_not_wait_for_an_open_transaction(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO chat_state(key, value, updated_at) VALUES ('k', 'v', 0)")
        # The writer holds its lock; a read on the writer would wait, the read connection answers now.
        row = await asyncio.wait_for(db.reads.fetchone("SELECT count(*) FROM chat_state"), timeout=1)
        assert row is not None
        assert row[0] == 0  # not committed yet: invisible
    row = await db.reads.fetchone("SELECT count(*) FROM chat_state")
    assert row is not None
    assert row[0] == 1


async def test_the_read_connection_refuses_writes(db: Database) -> None:
    with pytest.raises(DRIVER_ERRORS, match=r"readonly|read-only|query_only"):
        await db.reads.fetchall("INSERT INTO chat_state(key, value, updated_at) VALUES ('k', 'v', 0)")


async def test_call_here_reads_on_the_calling_thread_over_its_own_read_only_connection(
    sqlite_db: Database,
) -> None:
    """The autocomplete's road (player_lookup.search) on SQLite: no thread hop, the same snapshot rules,
    no writes. (On PostgreSQL call_here is call: a network round trip never blocks the event loop.)"""
    db = sqlite_db
    import threading

    from bot.db.tx import SyncTx

    def where(stx: SyncTx) -> tuple[int, int]:
        row = stx.fetchone("SELECT count(*) FROM chat_state")
        assert row is not None
        return threading.get_ident(), int(row[0])

    loop_thread = threading.get_ident()
    assert (await db.reads.call_here(where))[0] == loop_thread
    assert (await db.reads.call(where))[0] != loop_thread  # the other road hops to the read thread
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO chat_state(key, value, updated_at) VALUES ('k', 'v', 0)")
        assert (await db.reads.call_here(where))[1] == 0  # not committed yet: invisible, and no waiting
    assert (await db.reads.call_here(where))[1] == 1
    with pytest.raises(DRIVER_ERRORS, match=r"readonly|read-only|query_only"):
        await db.reads.call_here(SyncTx.execute, "DELETE FROM chat_state")
    await db.reads.close()
    with pytest.raises(DatabaseError, match="closed"):
        await db.reads.call_here(where)
