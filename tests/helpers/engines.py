"""Both storage engines for one test: `engine` is parametrised, `new_store` makes databases on it.

A test (or a module's `db` fixture) that takes `new_store` runs twice: on SQLite files under tmp_path
and on PostgreSQL, each store a schema of the session's throw-away database, migrated and holding no row
(tests/helpers/pg.py StorePool; without PostgreSQL the run FAILS, never skips).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from bot.db.connection import Database
from tests.helpers import pg

NewStore = Callable[..., "Path | str"]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_store(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NewStore]:
    """`new_store("name.db")`: where a new database lives: a file path (no file yet), or the URL of a
    PostgreSQL schema holding no row, migrated as Database.open leaves a new one (from the session's pool:
    tests/helpers/pg.py StorePool). `empty=True`: a schema without even the tables (nothing created)."""
    with ExitStack() as stack:

        def make(name: str = "statsbot.db", *, empty: bool = False) -> Path | str:
            if engine == "sqlite":
                return tmp_path / name
            if empty:
                return stack.enter_context(pg.fresh_schema(str(request.getfixturevalue("pg_session_url"))))
            pool: pg.StorePool = request.getfixturevalue("pg_store_pool")
            return stack.enter_context(pool.store())

        yield make


@pytest.fixture
def daemon_store(engine: str, new_store: NewStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run a module whose daemons are built by tests/helpers/daemon.py on each engine: on PostgreSQL every
    `daemon_settings(base, ...)` of the test gets the fresh schema of its `base` (`pytestmark =
    pytest.mark.usefixtures("daemon_store")`)."""
    from tests.helpers import daemon

    if engine != "postgresql":
        return
    stores: dict[Path, str] = {}

    def store_for(base: Path) -> str:
        if base not in stores:
            stores[base] = str(new_store())
        return stores[base]

    monkeypatch.setattr(daemon, "postgresql_store", store_for)


@pytest.fixture
async def store_db(new_store: NewStore) -> AsyncIterator[Database]:
    """A migrated database on each engine in turn."""
    database = await Database.open(new_store())
    try:
        yield database
    finally:
        await database.close()


async def add_failing_trigger(db: Database, name: str, table: str, message: str, when: str = "") -> None:
    """Make every INSERT into `table` (matching `when`, SQL over NEW) fail with `message`, on either
    engine: a real failure inside the real transaction, for the all-or-nothing tests."""
    if db.engine == "postgresql":
        await db.execute(
            f"CREATE FUNCTION {name}_fn() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$BEGIN RAISE EXCEPTION '{message}'; END$$"
        )
        condition = f"WHEN ({when}) " if when else ""
        await db.execute(
            f"CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW {condition}"
            f"EXECUTE FUNCTION {name}_fn()"
        )
        return
    condition = f"WHEN {when} " if when else ""
    await db.execute(
        f"CREATE TEMP TRIGGER {name} BEFORE INSERT ON {table} {condition}"
        f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
    )


async def drop_trigger(db: Database, name: str, table: str) -> None:
    if db.engine == "postgresql":
        await db.execute(f"DROP TRIGGER {name} ON {table}")
        await db.execute(f"DROP FUNCTION {name}_fn()")
    else:
        await db.execute(f"DROP TRIGGER {name}")


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    """A SQLite database only: for what is about the file itself (sqlite3 shell, PRAGMAs, query plans,
    the disk it sits on)."""
    database = await Database.open(tmp_path / "data" / "statsbot.db")
    try:
        yield database
    finally:
        await database.close()


# A test about the SQLite file itself (sqlite3 shell, WAL, corruption, file copies) whose fixtures would
# run it on both engines: `@SQLITE_ONLY` keeps the `sqlite` run (a direct parameter overrides `engine`).
SQLITE_ONLY = pytest.mark.parametrize("engine", ["sqlite"])


@contextlib.asynccontextmanager
async def leading(db: Database, instance: str) -> AsyncIterator[None]:
    """On PostgreSQL, an instance named `instance` holds the leadership meanwhile (as a running daemon
    does: health reports "no instance leads" otherwise); on SQLite, nothing to hold."""
    if db.engine != "postgresql":
        yield
        return
    from bot.db.leadership import Leadership
    from bot.db.pg_database import PgDatabase

    assert isinstance(db, PgDatabase)
    leader = Leadership(db.url, instance=instance)
    await leader.acquire()
    try:
        yield
    finally:
        await leader.release()
