"""Throw-away PostgreSQL databases for the tests (real server, never mocked).

The admin URL comes from STATSBOT_TEST_PG_URL (default: the local cluster's `postgres` database, trust
auth). A test session creates ONE database `statsbot_test_<random hex>` and drops it at the end (WITH
(FORCE): a leaked connection does not keep it alive). Each test then gets its own empty schema in that
database, reached through the URL's `options=-csearch_path=<schema>`: measured on this machine, a fresh
schema costs ~5 ms against ~100 ms for CREATE DATABASE from template0 (~45 ms from a migrated template,
~185 ms to run the 11 migrations). The schema is honest for tables, indexes, triggers and functions (all
schema-scoped, found through search_path) but NOT for what PostgreSQL keeps per database: advisory locks
(the migration lock, a leader lock) are shared by every schema of the session's database, so tests about
those take a whole database of their own (`fresh_database`).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

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
