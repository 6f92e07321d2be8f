"""Writer transactions of a PostgreSQL leader are fenced: a leader that lost its lock writes nothing."""

from __future__ import annotations

import psycopg
import pytest

from bot.db.connection import Database
from bot.db.fencing import NotLeader
from bot.db.leadership import Leadership
from bot.db.pg_database import PgDatabase
from bot.db.pg_engine import IDLE_IN_TRANSACTION_SECONDS
from tests.db.test_leadership import terminate

INSERT = "INSERT INTO outbox_meta_probe (n) VALUES (?)"


async def open_pg(url: str) -> PgDatabase:
    db = await Database.open(url)
    assert isinstance(db, PgDatabase)
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE IF NOT EXISTS outbox_meta_probe (n INTEGER NOT NULL)")
    return db


async def count(db: Database) -> int:
    row = await db.fetchone("SELECT count(*) FROM outbox_meta_probe")
    assert row is not None
    return int(row[0])


async def test_a_bound_fence_lets_the_leader_write_and_stops_it_once_the_lock_is_gone(
    pg_database_url: str,
) -> None:
    db = await open_pg(pg_database_url)
    leadership = Leadership(pg_database_url, instance="a", retry_seconds=0.2, heartbeat_seconds=30)
    try:
        fence = await leadership.acquire()
        db.bind_fence(fence)
        statements = db.statements
        await db.execute(INSERT, (1,))
        # BEGIN + writer lock + fence in one round trip, the INSERT, COMMIT: as many as unfenced.
        assert db.statements == statements + 3
        assert await count(db) == 1
        terminate(fence.pid)  # the leader's dedicated session ends; its heartbeat has not noticed yet
        assert not leadership.lost.is_set()
        with pytest.raises(NotLeader):
            await db.execute(INSERT, (2,))
        with pytest.raises(NotLeader):
            async with db.transaction() as tx:
                await tx.execute(INSERT, (3,))
        assert await count(db) == 1  # nothing of the fenced transactions was written
        # The connection is usable again (the failed BEGIN was rolled back): operators' writes, unfenced.
        db.bind_fence(None)
        await db.execute(INSERT, (4,))
        assert await count(db) == 2
    finally:
        await leadership.release()
        await db.close()


async def test_another_instance_holding_the_lock_fails_the_old_fence(pg_database_url: str) -> None:
    db = await open_pg(pg_database_url)
    a = Leadership(pg_database_url, instance="a", retry_seconds=0.1, heartbeat_seconds=30)
    b = Leadership(pg_database_url, instance="b", retry_seconds=0.1, heartbeat_seconds=30)
    try:
        old = await a.acquire()
        terminate(old.pid)
        new = await b.acquire()
        db.bind_fence(old)
        with pytest.raises(NotLeader):
            await db.execute(INSERT, (1,))
        db.bind_fence(new)
        await db.execute(INSERT, (2,))
        assert await count(db) == 1
    finally:
        await a.release()
        await b.release()
        await db.close()


async def test_the_writer_session_ends_an_idle_transaction(pg_database_url: str) -> None:
    db = await open_pg(pg_database_url)
    try:
        row = await db.fetchone("SELECT current_setting('idle_in_transaction_session_timeout')")
        assert row is not None
        assert str(row[0]) == f"{IDLE_IN_TRANSACTION_SECONDS}s" or str(row[0]) == "1min"
        with psycopg.connect(pg_database_url, autocommit=True) as other:
            other_row = other.execute("SHOW idle_in_transaction_session_timeout").fetchone()
        assert other_row == ("0",)  # only statsbot's writer session carries it
    finally:
        await db.close()
