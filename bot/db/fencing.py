"""Leader identity on PostgreSQL: the advisory-lock key, and the fence every writer transaction checks.

Two `statsbot run` against one PostgreSQL database elect a leader with a session-level advisory lock
held on a dedicated connection (bot/db/leadership.py). The lock alone does not stop a leader that lost
it without noticing yet (a heartbeat period, a stopped process resumed) from committing more work: the
writer transactions run on *another* connection. So each writer transaction starts with the fence:
inside the transaction it checks in `pg_locks` that the leadership lock is still granted to the backend
of the leader's dedicated connection (pid plus backend start time, so a reused pid cannot pass), and
raises `NotLeader` otherwise, before anything is written.

What the fence does not close: the check runs at the start of the transaction; if the lock is lost
between the check and COMMIT, that one transaction still commits. That is safe because every writer
transaction also takes the writer advisory lock (`pg_advisory_xact_lock`), so the new leader's first
write waits for it and then sees its result (an import marks its file imported in the same
transaction, so the new leader skips it). Work outside the database (a Discord post in flight) is not
fenced: see docs/OPERATIONS.md, "PostgreSQL and two instances".
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString, Protocol

from bot.errors import DatabaseError

# The first half of the two-int advisory-lock key: ASCII "SBLD" (statsbot leader). The second half is
# the CRC-32 of the database name (31 bits), so the lock reads as the same pair in every tool and on
# every instance. Advisory locks are per database anyway; naming the database in the key makes a
# pg_locks row say which statsbot database it elects for. Writer locks use other keys.
LEADER_NAMESPACE = 0x5342_4C44


@dataclass(frozen=True, slots=True)
class LeaderKey:
    """The two int4 halves of the leadership lock: `pg_try_advisory_lock(namespace, objid)`."""

    namespace: int
    objid: int

    @classmethod
    def for_database(cls, dbname: str) -> LeaderKey:
        return cls(LEADER_NAMESPACE, zlib.crc32(dbname.encode()) & 0x7FFF_FFFF)


class NotLeader(DatabaseError):
    """This instance does not (or no longer) hold the leadership lock: writer work must stop."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"not the leader: {reason}")


@dataclass(frozen=True, slots=True)
class Fence:
    """Who holds leadership: the dedicated connection's backend (pid + start time) and the lock key."""

    key: LeaderKey
    pid: int
    backend_start: datetime

    @property
    def params(self) -> dict[str, Any]:
        """The named parameters of FENCE_SQL."""
        return {
            "namespace": self.key.namespace,
            "objid": self.key.objid,
            "pid": self.pid,
            "backend_start": self.backend_start,
        }


# One row, one boolean: is the leadership lock still granted to the leader's backend? A two-int key
# shows in pg_locks as classid/objid with objsubid = 2. pg_stat_activity shows backend_start of sessions
# of the same role (both instances connect as one role), which guards against a reused pid.
# The granted leadership lock's row in pg_locks (l) beside its holder's session (a); also read by
# bot/db/leader_status.py to name the leader.
LEADER_LOCK_ROWS: LiteralString = """
FROM pg_locks AS l
JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE l.locktype = 'advisory'
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = %(namespace)s::bigint::oid
  AND l.objid = %(objid)s::bigint::oid
  AND l.objsubid = 2
  AND l.granted
"""
FENCE_SQL: LiteralString = (
    "SELECT EXISTS (SELECT 1"
    + LEADER_LOCK_ROWS
    + "  AND l.pid = %(pid)s\n  AND a.backend_start = %(backend_start)s\n) AS held\n"
)


class _Cursor(Protocol):
    def fetchone(self) -> Any: ...


class Executes(Protocol):
    """A psycopg Connection or Cursor (anything with `execute(sql, params)` returning a cursor)."""

    def execute(self, query: LiteralString, params: dict[str, Any]) -> _Cursor: ...


def assert_leader_sync(conn: Executes, fence: Fence | None) -> None:
    """Raise NotLeader unless `fence`'s backend still holds the leadership lock (run inside the writer
    transaction, after its writer lock, before its first write)."""
    if fence is None:
        raise NotLeader("leadership was never acquired")
    row = conn.execute(FENCE_SQL, fence.params).fetchone()
    held = row["held"] if isinstance(row, dict) else (row[0] if row else None)  # tuple or dict rows
    if held is not True:
        raise NotLeader(f"the leadership lock is no longer held by backend pid {fence.pid}")
