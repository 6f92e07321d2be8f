"""Shared fixtures: paths to the real sample files beside the project."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.helpers import pg

pytest_plugins = ["tests.helpers.engines"]  # `engine`, `new_store`, `store_db`: both storage engines

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_SAMPLES = PROJECT_ROOT.parent / "shared" / "samples" / "real"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The 61 real stats files (+ one endstats) from ../shared/samples/real/."""
    if not SHARED_SAMPLES.is_dir():
        pytest.fail(f"real samples not found at {SHARED_SAMPLES}: ../shared must sit beside the project")
    return SHARED_SAMPLES


def _database_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if "_connection_worker_thread" in t.name and t.is_alive()]


@pytest.fixture(autouse=True)
def _no_leaked_database_threads() -> Iterator[None]:
    """Fail the test that leaves a database open: aiosqlite's worker thread would hang the process at exit."""
    before = set(_database_threads())
    yield
    leaked = [t for t in _database_threads() if t not in before]
    for thread in leaked:
        thread.join(timeout=5)  # a closed connection's thread needs a moment to drain its queue
    still = [t.name for t in leaked if t.is_alive()]
    assert not still, f"database left open (aiosqlite threads still running: {still})"


@pytest.fixture(autouse=True)
def _post_history(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests that start from a pre-filled server folder were written for posting it all: they keep that
    behaviour (`[discord] post_history = true`: environment for child processes, and for settings built
    in code). Tests marked `history_default` (tests/test_history.py, the demo) run the shipped default."""
    if request.node.get_closest_marker("history_default") is not None:
        monkeypatch.delenv("STATSBOT_DISCORD__POST_HISTORY", raising=False)
        return
    monkeypatch.setenv("STATSBOT_DISCORD__POST_HISTORY", "true")
    monkeypatch.setattr("bot.ingest.history.quiet_history", lambda settings: False)


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The PostgreSQL admin URL (STATSBOT_TEST_PG_URL); FAILS, never skips, when the server is unusable."""
    url = pg.admin_url()
    try:
        pg.check_admin(url)
    except pg.PostgresUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    return url


@pytest.fixture(scope="session")
def pg_session_url(pg_admin_url: str) -> Iterator[str]:
    """This test session's throw-away database `statsbot_test_<hex>`, dropped at the end."""
    name = pg.new_name()
    url = pg.create_database(pg_admin_url, name)
    try:
        yield url
    finally:
        pg.drop_database(pg_admin_url, name)


@pytest.fixture(scope="session")
def pg_store_pool(pg_session_url: str) -> pg.StorePool:
    """Migrated schemas of the session's database, reused test after test (`new_store` on PostgreSQL)."""
    return pg.StorePool(pg_session_url)


@pytest.fixture
def pg_url(pg_session_url: str) -> Iterator[str]:
    """An empty PostgreSQL schema of this test's own (URL with search_path set to it): ~5 ms.

    Advisory locks are per DATABASE, shared with the other tests' schemas: a test about them (migration
    lock, leader election) takes `pg_database_url` instead."""
    with pg.fresh_schema(pg_session_url) as url:
        yield url


@pytest.fixture
def pg_database_url(pg_admin_url: str) -> Iterator[str]:
    """An empty PostgreSQL database of this test's own (from template0, ~100 ms), dropped afterwards."""
    with pg.fresh_database(pg_admin_url) as url:
        yield url


@pytest.fixture
def pg_conn(pg_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to `pg_url` (the mode apply_pg_migrations wants)."""
    with pg.connect(pg_url) as conn:
        yield conn
