"""Throw-away PostgreSQL databases for the benches: created at the start of a run, dropped at its end.

The admin URL (a user allowed to CREATE DATABASE) comes from STATSBOT_TEST_PG_URL, as for the tests,
else the local cluster over TCP: postgresql://postgres@127.0.0.1:5432/postgres.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ADMIN_URL_ENV = "STATSBOT_TEST_PG_URL"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ENGINES = ("sqlite", "postgresql")


def admin_url() -> str:
    return os.environ.get(ADMIN_URL_ENV) or DEFAULT_ADMIN_URL


def engines(choice: str) -> tuple[str, ...]:
    """The `--engine` choice (sqlite, postgresql or both) as the engines to run, SQLite first."""
    return ENGINES if choice == "both" else (choice,)


def with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


@contextmanager
def scratch_database(prefix: str = "statsbot_bench_", *, keep: bool = False) -> Iterator[str]:
    """A new empty database (from template0) on the admin URL's server; its URL. Dropped afterwards,
    WITH (FORCE), so a connection the bench leaked does not keep it alive; unless `keep`."""
    admin = admin_url()
    name = prefix + secrets.token_hex(5)
    with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'".encode())
    try:
        yield with_database(admin, name)
    finally:
        if not keep:
            drop_database(name)


def drop_database(name: str) -> None:
    with psycopg.connect(admin_url(), autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def server_settings(url: str) -> str:
    """The server settings that move the figures, for the report."""
    names = ("server_version", "synchronous_commit", "fsync", "shared_buffers", "wal_level")
    with psycopg.connect(url, autocommit=True) as conn:
        return ", ".join(f"{n}={conn.execute(f'SHOW {n}'.encode()).fetchone()[0]}" for n in names)  # type: ignore[index]


def backend_cpu_seconds(url: str) -> float:
    """CPU seconds used so far by the server processes of the OTHER connections to `url`'s database
    (user + system, from /proc: the server runs on this machine). 0.0 where /proc cannot tell."""
    with psycopg.connect(url, autocommit=True) as conn:
        pids = [
            int(row[0])
            for row in conn.execute(
                b"SELECT pid FROM pg_stat_activity "
                b"WHERE datname = current_database() AND pid != pg_backend_pid()"
            ).fetchall()
        ]
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total
