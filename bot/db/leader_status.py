"""Who leads, as the database sees it: for the standby's health, /status and /metrics (PostgreSQL only).

The leader holds the leadership advisory lock on a connection named `statsbot <instance> leadership`
(bot/db/leadership.py); pg_locks says which backend holds it, pg_stat_activity that backend's name.
"""

from __future__ import annotations

import sqlite3
from typing import Any, LiteralString

from bot.db.connection import Database
from bot.db.fencing import LEADER_LOCK_ROWS, LeaderKey
from bot.db.tx import EngineError, SyncTx
from bot.errors import DatabaseError

_HOLDER: LiteralString = "SELECT a.application_name" + LEADER_LOCK_ROWS
_PREFIX, _SUFFIX = "statsbot ", " leadership"
UNKNOWN = "?"  # the lock is free, or its holder is not ours to name


def _holder(stx: SyncTx) -> str | None:
    conn: Any = getattr(stx, "pg", None)
    if conn is None:
        return None
    import psycopg

    key = LeaderKey.for_database(str(conn.info.dbname))
    try:
        row = conn.execute(_HOLDER, {"namespace": key.namespace, "objid": key.objid}).fetchone()
    except psycopg.Error as exc:
        raise EngineError(str(exc), exc.sqlstate) from exc
    if row is None:
        return None
    name = str(row[0] or "")
    if name.startswith(_PREFIX) and name.endswith(_SUFFIX):
        return name[len(_PREFIX) : -len(_SUFFIX)]
    return UNKNOWN


def other_statsbot_sessions_sync(stx: SyncTx, own_name: str) -> list[str]:
    """statsbot's other sessions on this database (daemons, standbys, commands; not `own_name`'s), as
    "name (pid N, from ADDRESS)": what a command that must have the database to itself refuses on."""
    rows = stx.fetchall(
        "SELECT application_name, coalesce(host(client_addr), 'local socket'), pid FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid != pg_backend_pid() "
        "AND application_name LIKE 'statsbot%' AND application_name NOT LIKE ? ORDER BY pid",
        (own_name + "%",),
    )
    return [f"{row[0]} (pid {row[2]}, from {row[1]})" for row in rows]


async def leader_instance(db: Database) -> str | None:
    """The leading instance's name; None when no instance leads (or on SQLite). Never raises."""
    if db.engine != "postgresql":
        return None
    try:
        return await db.reads.call(_holder)
    except (sqlite3.Error, EngineError, DatabaseError):
        return UNKNOWN


async def role_text(db: Database, instance: str) -> str | None:
    """This instance's role in words ("leader (a)", "standby (leader: b)"); None on SQLite."""
    if db.engine != "postgresql":
        return None
    leader = await leader_instance(db)
    if leader is None:
        return "no instance leads: nothing polls, imports or posts"
    if leader == instance:
        return f"leader ({instance})"
    return f"standby (leader: {leader})"
