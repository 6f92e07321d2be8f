"""A throw-away PostgreSQL database for the leadership tests (minimal; the shared fixtures may replace it).

PostgreSQL is required, never optional: when it cannot be reached the test fails and says what is missing.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

# The machine's PostgreSQL (trust auth on loopback); override to point the tests elsewhere.
ADMIN_URL = os.environ.get("STATSBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def admin_connection() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is required for this test and is not reachable at {ADMIN_URL} "
            f"(start PostgreSQL 15, or set STATSBOT_TEST_POSTGRES_URL): {exc}",
            pytrace=False,
        )


@contextmanager
def throwaway_database(prefix: str = "statsbot_test") -> Iterator[str]:
    """Create an empty database, yield its URL, drop it (and any session still in it) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
