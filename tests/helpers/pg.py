"""Throw-away PostgreSQL databases for the tests (real server, never mocked).

The admin URL comes from STATSBOT_TEST_PG_URL (default: the local cluster's `postgres` database, trust
auth). A test session creates ONE database `statsbot_test_<random hex>` and drops it at the end (WITH
(FORCE): a leaked connection does not keep it alive). Each test then gets schemas of its own in that
database (`new_store`: migrated ones from StorePool below; `pg_url`: an empty one), reached through the
URL's `options=-csearch_path=<schema>`: measured on this machine, a fresh
schema costs ~5 ms against ~100 ms for CREATE DATABASE from template0 (~45 ms from a migrated template,
~185 ms to run the 11 migrations). The schema is honest for tables, indexes, triggers and functions (all
schema-scoped, found through search_path) but NOT for what PostgreSQL keeps per database: advisory locks
(the migration lock, a leader lock) are shared by every schema of the session's database, so tests about
those take a whole database of their own (`fresh_database`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

import psycopg

ADMIN_URL_ENV = "STATSBOT_TEST_PG_URL"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE_PREFIX = "statsbot_test_"

HOW_TO_START = (
    "start the local cluster with `pg_ctlcluster --skip-systemctl-redirect 15 main start` "
    f"(as root), or point {ADMIN_URL_ENV} at a PostgreSQL >= 15 where the user may CREATE DATABASE"
)


class PostgresUnavailable(RuntimeError):
    """The tests' PostgreSQL server cannot be reached or used."""


def admin_url() -> str:
    return os.environ.get(ADMIN_URL_ENV) or DEFAULT_ADMIN_URL


def with_database(url: str, dbname: str, *, schema: str | None = None) -> str:
    """`url` pointing at database `dbname` (and only `schema` on the search_path, when given)."""
    parts = urlsplit(url)
    query = parts.query
    if schema is not None:
        option = "options=" + quote(f"-csearch_path={schema}", safe="")
        query = f"{query}&{option}" if query else option
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, query, parts.fragment))


def connect(url: str) -> psycopg.Connection[Any]:
    """An autocommit connection (what apply_pg_migrations and the admin statements need)."""
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def check_admin(url: str) -> None:
    """Raise PostgresUnavailable, saying what is missing and how to fix it, unless `url` works."""
    try:
        with connect(url) as conn:
            row = conn.execute(
                "SELECT current_setting('server_version_num')::int, rolcreatedb OR rolsuper "
                "FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
    except psycopg.Error as exc:
        raise PostgresUnavailable(
            f"the tests need PostgreSQL and cannot reach it at {url} ({exc.__class__.__name__}: "
            f"{' '.join(str(exc).split())}): {HOW_TO_START}"
        ) from exc
    if row is None or int(str(row[0])) < 150000 or not row[1]:
        raise PostgresUnavailable(
            f"the tests need PostgreSQL >= 15 and a user allowed to CREATE DATABASE at {url}: {HOW_TO_START}"
        )


def new_name(prefix: str = DATABASE_PREFIX) -> str:
    return prefix + secrets.token_hex(6)


def create_database(admin: str, name: str) -> str:
    """CREATE DATABASE `name` from template0; returns its URL."""
    with connect(admin) as conn:
        conn.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'")
    return with_database(admin, name)


def drop_database(admin: str, name: str) -> None:
    with connect(admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(admin: str) -> Iterator[str]:
    """A database of its own (per-database things: advisory locks), dropped afterwards."""
    name = new_name()
    url = create_database(admin, name)
    try:
        yield url
    finally:
        drop_database(admin, name)


@contextmanager
def fresh_schema(database_url: str) -> Iterator[str]:
    """An empty schema in `database_url`'s database; yields a URL whose search_path is only that schema."""
    schema = "t_" + secrets.token_hex(6)
    with connect(database_url) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_database(database_url, urlsplit(database_url).path.lstrip("/"), schema=schema)
    finally:
        with connect(database_url) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


# One migrated store per test, without migrating each: a schema the tests are done with is emptied and
# handed to the next one. Measured on this machine with other suites running (2 cores busy), a store
# opened, written once and closed: a fresh schema + the 12 migrations + DROP SCHEMA CASCADE 520-780 ms,
# a pooled schema (emptied after) 75-105 ms. ~350 PostgreSQL tests take one or more stores.


class StorePool:
    """Migrated schemas of the session's database (`store()`: one, as new as Database.open leaves a new
    database), reused: after its test a schema is emptied (every row deleted, identities restarted, a new
    instance row as migration 0004 makes it) IF its catalog is still the migrated one (a test that added a
    trigger, dropped a table or rolled a migration back leaves a schema that is dropped instead)."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.database = urlsplit(database_url).path.lstrip("/")
        self.free: list[str] = []
        self.shape: tuple[Any, ...] | None = None  # the migrated catalog's fingerprint
        self.reset_sql = b""
        self.reusable = True

    def url(self, schema: str) -> str:
        return with_database(self.database_url, self.database, schema=schema)

    @contextmanager
    def store(self) -> Iterator[str]:
        schema = self.free.pop() if self.free else self._migrated()
        try:
            yield self.url(schema)
        finally:
            if self._reset(schema):
                self.free.append(schema)
            else:
                self._drop(schema)

    def _migrated(self) -> str:
        """A new schema, migrated as PgDatabase.open_url does (compat functions, then the migrations)."""
        from bot.db import pg_engine
        from bot.db.pg_migrations import apply_pg_migrations

        schema = "s_" + secrets.token_hex(6)
        with connect(self.database_url) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"'.encode())
        with pg_engine.connect(self.url(schema)) as conn:
            pg_engine.apply_compat(conn)
            apply_pg_migrations(conn)
            if self.shape is None:
                self._learn(conn, schema)
        return schema

    def _learn(self, conn: psycopg.Connection[Any], schema: str) -> None:
        """The fingerprint of a freshly migrated schema, and the SQL that empties one back to it."""
        self.shape = _shape(conn, schema)
        tables = [str(r[0]) for r in conn.execute(_TABLES, (schema,)).fetchall()]
        filled = {t for t in tables if conn.execute(f'SELECT 1 FROM "{t}" LIMIT 1'.encode()).fetchone()}
        if filled != {"schema_version", "instance"}:  # a migration now seeds rows: teach reset them
            raise RuntimeError(f"tests/helpers/pg.py StorePool: migrations leave rows in {sorted(filled)}")
        sequences = [str(r[0]) for r in conn.execute(_SEQUENCES, (schema,)).fetchall()]
        row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        self.reusable = bool(row and row[0])  # session_replication_role (below) needs a superuser
        self.reset_sql = "; ".join(
            [
                "SET LOCAL lock_timeout = '5s'",
                "SET LOCAL session_replication_role = replica",  # no trigger, no foreign key check
                *(f'DELETE FROM "{t}"' for t in tables if t != "schema_version"),
                *(f'ALTER SEQUENCE "{s}" RESTART' for s in sequences),
                # as migration 0004_instance.sql: a new random instance id
                "INSERT INTO instance(id, instance_id, created_at) VALUES (1, "
                "replace(gen_random_uuid()::text, '-', ''), extract(epoch FROM clock_timestamp()))",
            ]
        ).encode()

    def _reset(self, schema: str) -> bool:
        if not self.reusable:
            return False
        try:
            with connect(self.url(schema)) as conn:
                if _shape(conn, schema) != self.shape:
                    return False
                with conn.transaction():
                    conn.execute(self.reset_sql)
        except psycopg.Error:
            return False  # e.g. a connection the test leaked still holds a lock: drop it instead
        return True

    def _drop(self, schema: str) -> None:
        with contextlib.suppress(psycopg.Error), connect(self.database_url) as conn:
            conn.execute("SET lock_timeout = '5s'")
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())


_TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename"
_SEQUENCES = "SELECT sequencename FROM pg_sequences WHERE schemaname = %s ORDER BY sequencename"
_SHAPE = """
SELECT
  (SELECT md5(string_agg(relname || ':' || relkind::text, ',' ORDER BY relname)) FROM pg_class
    WHERE relnamespace = n.oid),
  (SELECT md5(string_agg(c.relname || '.' || a.attname || ':' || a.atttypid::text || ':'
    || a.attnotnull::text, ',' ORDER BY c.relname, a.attnum))
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    WHERE c.relnamespace = n.oid AND a.attnum > 0 AND NOT a.attisdropped),
  (SELECT md5(string_agg(t.tgname || ':' || t.tgenabled::text, ',' ORDER BY t.tgname)) FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = n.oid),
  (SELECT md5(string_agg(proname || ':' || prosrc, ',' ORDER BY proname, prosrc)) FROM pg_proc
    WHERE pronamespace = n.oid),
  (SELECT md5(string_agg(conname || ':' || pg_get_constraintdef(oid), ',' ORDER BY conname))
    FROM pg_constraint WHERE connamespace = n.oid),
  (SELECT md5(string_agg(indexrelid::regclass::text || ':' || pg_get_indexdef(indexrelid), ','
    ORDER BY indexrelid::regclass::text)) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
    WHERE c.relnamespace = n.oid)
FROM pg_namespace n WHERE n.nspname = %s
"""


def _shape(conn: psycopg.Connection[Any], schema: str) -> tuple[Any, ...]:
    row = conn.execute(_SHAPE.encode(), (schema,)).fetchone()
    versions = conn.execute(b"SELECT string_agg(version || name, ',' ORDER BY version) FROM schema_version")
    return (*(row or ()), *(versions.fetchone() or ()))


def schema_of(url: str) -> str:
    """The schema a `with_database(..., schema=)` URL keeps on its search_path."""
    options = parse_qs(urlsplit(url).query)["options"][0]
    return options.removeprefix("-csearch_path=")


def copy_rows(source_url: str, target_url: str) -> None:
    """Every row of one migrated schema into another, empty, one (identities continued as in the source;
    the target keeps its own instance row): a database as if the source's imports had run on it. Triggers
    are off meanwhile (session_replication_role): the kept aggregates are copied, not recomputed."""
    source = schema_of(source_url)
    with connect(target_url) as conn, conn.transaction():
        tables = [str(r[0]) for r in conn.execute(_TABLES, (schema_of(target_url),)).fetchall()]
        sequences = [str(r[0]) for r in conn.execute(_SEQUENCES, (source,)).fetchall()]
        statements = [
            "SET LOCAL session_replication_role = replica",
            *(f'INSERT INTO "{t}" SELECT * FROM "{source}"."{t}"' for t in tables if t not in KEEP),
            *(f'SELECT setval(\'"{s}"\', last_value, is_called) FROM "{source}"."{s}"' for s in sequences),
        ]
        conn.execute("; ".join(statements).encode())


KEEP = ("schema_version", "instance")  # what copy_rows leaves as the target has it
