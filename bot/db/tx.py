"""Statement runners: the synchronous SyncTx (on the database thread) and the async Reader protocol."""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from bot.errors import DatabaseError

P = ParamSpec("P")
T = TypeVar("T")

# Positional (`?`) or named (`:name`) parameters.
Params = Sequence[Any] | Mapping[str, Any]


class EngineError(Exception):
    """A PostgreSQL error, raised in place of psycopg's own so that callers need not import psycopg
    (sqlite3's errors are raised as they are). `sqlstate` is PostgreSQL's error code."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


# What a statement of either engine raises when the database refuses it.
DRIVER_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, EngineError)
# ... and what a command reports as "the database failed" (also our own DatabaseError: closed, refused).
DATABASE_ERRORS: tuple[type[Exception], ...] = (*DRIVER_ERRORS, DatabaseError)


@dataclass(frozen=True, slots=True)
class ExecResult:
    """What a write statement did."""

    rowcount: int
    lastrowid: int | None


class StatementCounter(Protocol):
    """What owns a SyncTx: counts the statements run (the writer's Database, the read connection)."""

    statements: int


class Uncounted:
    """A StatementCounter for statements that are not the workload's (the never-forget record's reads):
    they stay out of `Database.statements`, which benchmarks compare per poll cycle."""

    statements = 0


class SyncTx:
    """Synchronous statements on the worker thread (inside `run_transaction` or `Tx.call`)."""

    __slots__ = ("_conn", "_db")

    def __init__(self, db: StatementCounter, conn: sqlite3.Connection) -> None:
        self._db = db
        self._conn = conn

    def execute(self, sql: str, params: Params = ()) -> ExecResult:
        self._db.statements += 1
        cur = self._conn.execute(sql, params)
        return ExecResult(cur.rowcount, cur.lastrowid)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """One statement for many rows; returns the total rowcount."""
        self._db.statements += 1
        return self._conn.executemany(sql, rows).rowcount

    def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        self._db.statements += 1
        return self._conn.execute(sql, params).fetchall()

    def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    def insert_id(self, sql: str, params: Params = ()) -> int:
        """Run an INSERT of one row and return the new row's `id` (portable: RETURNING, not lastrowid)."""
        row = self.fetchone(f"{sql} RETURNING id", params)
        if row is None:
            raise sqlite3.IntegrityError(f"insert returned no id: {sql[:60]}")
        return int(row[0])

    # Transaction control, overridden by the PostgreSQL runner (bot/db/pg_engine.py).
    def begin(self) -> None:
        """Start a writing transaction that excludes every other writer (SQLite: the write lock)."""
        self.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        self.execute("ROLLBACK")


class Reader(Protocol):
    """What read helpers need: a Database outside a transaction, or a Tx inside one."""

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]: ...

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None: ...

    async def call(
        self, fn: Callable[Concatenate[SyncTx, P], T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T: ...


def as_async(
    fn: Callable[Concatenate[SyncTx, P], T],
) -> Callable[Concatenate[Reader, P], Coroutine[Any, Any, T]]:
    """The awaitable twin of a synchronous SQL helper: `await twin(db_or_tx, ...)` runs it on the thread."""

    @functools.wraps(fn)
    async def twin(db: Reader, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await db.call(fn, *args, **kwargs)

    return twin


# The statements as plain functions of a SyncTx, for `call(...)`: they dispatch on the SyncTx's class
# (the PostgreSQL one rewrites the SQL), which `SyncTx.execute` passed as a function would not.
def execute_on(stx: SyncTx, sql: str, params: Params = ()) -> ExecResult:
    return stx.execute(sql, params)


def executemany_on(stx: SyncTx, sql: str, rows: Iterable[Sequence[Any]]) -> int:
    return stx.executemany(sql, rows)


def fetchall_on(stx: SyncTx, sql: str, params: Params = ()) -> list[sqlite3.Row]:
    return stx.fetchall(sql, params)


def fetchone_on(stx: SyncTx, sql: str, params: Params = ()) -> sqlite3.Row | None:
    return stx.fetchone(sql, params)


# Transaction control on the worker thread (either engine: SyncTx.begin/commit/rollback).
def begin_on(stx: SyncTx) -> None:
    stx.begin()


def commit_on(stx: SyncTx) -> None:
    try:
        stx.commit()
    except BaseException:
        rollback_on(stx)
        raise


def rollback_on(stx: SyncTx) -> None:
    # After some errors the engine has already rolled back itself and ROLLBACK raises: gone either way.
    with contextlib.suppress(*DRIVER_ERRORS):
        stx.rollback()


def in_transaction(stx: SyncTx, body: Callable[[], T]) -> T:
    begin_on(stx)
    try:
        result = body()
    except BaseException:
        rollback_on(stx)
        raise
    commit_on(stx)
    return result


class Tx:
    """An open BEGIN IMMEDIATE transaction. Only valid inside `async with db.transaction()`."""

    __slots__ = ("_open", "_run", "_stx")

    def __init__(self, run: Callable[..., Awaitable[Any]], stx: SyncTx) -> None:
        self._run = run  # the owning database's submitter: runs a function on its worker thread
        self._stx = stx
        self._open = True

    async def call(self, fn: Callable[Concatenate[SyncTx, P], T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a synchronous SQL helper inside this transaction (one thread hop for all its statements)."""
        if not self._open:
            raise DatabaseError("transaction already finished")
        result: T = await self._run(fn, self._stx, *args, **kwargs)
        return result

    async def execute(self, sql: str, params: Params = ()) -> ExecResult:
        return await self.call(execute_on, sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        return await self.call(executemany_on, sql, list(rows))

    async def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return await self.call(fetchall_on, sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        return await self.call(fetchone_on, sql, params)
