"""Leader election on a real PostgreSQL: one winner, hand-over on release, loss noticed, writes fenced."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import psycopg
import pytest
from structlog.testing import capture_logs

from bot.db.fencing import LEADER_NAMESPACE, Fence, LeaderKey, NotLeader, assert_leader_sync
from bot.db.leadership import Leadership
from bot.errors import DatabaseError
from tests.helpers.leader_pg import admin_connection, throwaway_database

RETRY = 0.2
HEARTBEAT = 0.3
SLACK = 1.5  # scheduling on a busy 2-core machine


@pytest.fixture
def pg_url() -> Iterator[str]:
    with throwaway_database("statsbot_leader") as url:
        yield url


@pytest.fixture
async def pair(pg_url: str) -> AsyncIterator[tuple[Leadership, Leadership]]:
    a = Leadership(pg_url, instance="a", retry_seconds=RETRY, heartbeat_seconds=HEARTBEAT)
    b = Leadership(pg_url, instance="b", retry_seconds=RETRY, heartbeat_seconds=HEARTBEAT)
    yield a, b
    await a.release()
    await b.release()


def holder_pids(url: str) -> list[int]:
    """The backends holding the leadership lock, as the server sees them."""
    dbname = url.rsplit("/", 1)[1]
    key = LeaderKey.for_database(dbname)
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND objsubid = 2",
            (key.namespace, key.objid),
        ).fetchall()
    return [row[0] for row in rows]


def terminate(pid: int) -> None:
    """End a backend as an operator (or a network cut) would; returns once it is gone (PostgreSQL 14+)."""
    with admin_connection() as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone() == (True,)


async def test_only_one_wins_and_the_other_takes_over_within_a_retry_after_release(
    pair: tuple[Leadership, Leadership], pg_url: str
) -> None:
    a, b = pair
    with capture_logs() as logs:
        fence_a = await a.acquire()
        waiting = asyncio.create_task(b.acquire())
        await asyncio.sleep(RETRY * 5)
        assert not waiting.done(), "the second instance must wait while the first holds the lock"
        assert a.is_leader
        assert not b.is_leader
        assert holder_pids(pg_url) == [fence_a.pid]
        released = time.monotonic()
        await a.release()
        fence_b = await asyncio.wait_for(waiting, RETRY + SLACK)
        took = time.monotonic() - released
    assert took <= RETRY + SLACK, took
    assert holder_pids(pg_url) == [fence_b.pid]
    assert fence_b.pid != fence_a.pid
    events = [(e["event"], e.get("instance")) for e in logs]
    assert events.count(("leader_waiting", "b")) == 1, "logged once, not every retry"
    assert ("leader_acquired", "a") in events
    assert ("leader_released", "a") in events
    assert events.index(("leader_released", "a")) < events.index(("leader_acquired", "b"))


async def test_a_terminated_leader_notices_within_a_heartbeat_and_the_follower_takes_over(
    pair: tuple[Leadership, Leadership], pg_url: str
) -> None:
    a, b = pair
    called: list[str] = []
    a._on_lost = lambda: called.append("lost")
    fence_a = await a.acquire()
    waiting = asyncio.create_task(b.acquire())
    await asyncio.sleep(RETRY * 2)
    with capture_logs() as logs:
        terminate(fence_a.pid)
        killed = time.monotonic()
        await asyncio.wait_for(a.lost.wait(), HEARTBEAT + SLACK)
        noticed = time.monotonic() - killed
        fence_b = await asyncio.wait_for(waiting, RETRY + SLACK)
    assert noticed <= HEARTBEAT + SLACK, noticed
    assert called == ["lost"]
    assert not a.is_leader
    assert a.fence is None
    assert holder_pids(pg_url) == [fence_b.pid]
    lost = [e for e in logs if e["event"] == "leader_lost"]
    assert len(lost) == 1
    assert lost[0]["log_level"] == "error"
    assert lost[0]["instance"] == "a"
    assert "terminat" in lost[0]["reason"]
    # It can become a follower again: it waits while b leads.
    again = asyncio.create_task(a.acquire())
    await asyncio.sleep(RETRY * 3)
    assert not again.done()
    await b.release()
    await asyncio.wait_for(again, RETRY + SLACK)
    assert a.is_leader
    assert not a.lost.is_set()


async def test_the_fence_passes_for_the_holder_and_fails_once_its_lock_is_gone(
    pair: tuple[Leadership, Leadership], pg_url: str
) -> None:
    a, b = pair
    fence_a = await a.acquire()
    with psycopg.connect(pg_url) as writer:  # a writer connection: transactions, like the Database's
        assert_leader_sync(writer, fence_a)
        writer.commit()
        # A reused pid is not the leader: the backend start time differs.
        impostor = Fence(fence_a.key, fence_a.pid, fence_a.backend_start + timedelta(microseconds=1))
        with pytest.raises(NotLeader):
            assert_leader_sync(writer, impostor)
        writer.rollback()
        # The lock is gone the moment the server ends the session, before a's heartbeat notices.
        terminate(fence_a.pid)
        assert a.is_leader, "not yet noticed by the heartbeat: exactly the window the fence closes"
        with pytest.raises(NotLeader) as raised:
            assert_leader_sync(writer, fence_a)
        writer.rollback()
        assert isinstance(raised.value, DatabaseError)
        assert str(fence_a.pid) in str(raised.value)
        fence_b = await b.acquire()
        assert_leader_sync(writer, fence_b)
        with pytest.raises(NotLeader):
            assert_leader_sync(writer, fence_a)
        with pytest.raises(NotLeader, match="never acquired"):
            assert_leader_sync(writer, None)


async def test_the_dedicated_connection_names_the_instance_and_bounds_idle_and_statements(
    pair: tuple[Leadership, Leadership], pg_url: str
) -> None:
    a, _ = pair
    fence = await a.acquire()
    dbname = pg_url.rsplit("/", 1)[1]
    assert fence.key == LeaderKey.for_database(dbname)
    assert fence.key.namespace == LEADER_NAMESPACE
    assert LeaderKey.for_database(dbname) != LeaderKey.for_database(dbname + "x")
    assert 0 <= fence.key.objid < 2**31
    with psycopg.connect(pg_url, autocommit=True) as conn:
        row = conn.execute("SELECT application_name FROM pg_stat_activity WHERE pid = %s", (fence.pid,))
        assert row.fetchone() == ("statsbot a leadership",)
    assert a._conn is not None
    settings = {
        name: a._conn.execute(f"SHOW {name}").fetchone()
        for name in ("idle_session_timeout", "statement_timeout")
    }
    assert settings == {"idle_session_timeout": ("900ms",), "statement_timeout": ("1s",)}


async def test_acquire_keeps_trying_while_the_database_is_unreachable(pg_url: str) -> None:
    dead = Leadership(
        "postgresql://postgres@127.0.0.1:1/postgres", instance="x", retry_seconds=RETRY, heartbeat_seconds=1
    )
    with capture_logs() as logs:
        task = asyncio.create_task(dead.acquire())
        await asyncio.sleep(RETRY * 4)
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await dead.release()
    failed = [e for e in logs if e["event"] == "leader_connection_failed"]
    assert len(failed) == 1, "logged once per outage, not every retry"
    assert failed[0]["log_level"] == "warning"
    assert not dead.is_leader


def sessions(url: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'statsbot %%'"
            " AND datname = current_database() ORDER BY 1"
        ).fetchall()
    return [row[0] for row in rows]


async def test_release_ends_the_session_also_after_a_cancelled_wait(
    pair: tuple[Leadership, Leadership], pg_url: str
) -> None:
    a, b = pair
    await a.acquire()
    waiting = asyncio.create_task(b.acquire())
    await asyncio.sleep(RETRY * 2)
    assert sessions(pg_url) == ["statsbot a leadership", "statsbot b leadership"]
    waiting.cancel()  # shutdown while following
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await b.release()
    await a.release()
    deadline = time.monotonic() + SLACK
    while sessions(pg_url) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert sessions(pg_url) == []
    assert holder_pids(pg_url) == []
    assert not a.is_leader
    assert not a.lost.is_set(), "a release is not a loss"
