"""PostgreSQL at the driver level: connections, statements, rows, errors (psycopg 3, synchronous).

psycopg's synchronous connection is used the way sqlite3's is: on ONE worker thread per connection,
whole transactions submitted as one call (bot/db/connection.py), in autocommit mode with explicit
BEGIN/COMMIT. What the rest of bot/db sees is the same `SyncTx` API with the same rows:

- statements are written in SQLite's dialect and rewritten once each (bot/db/dialect.py);
- rows answer `row[0]` and `row["name"]` (case-insensitively), like sqlite3.Row;
- integer sums come back as int (PostgreSQL's SUM of BIGINT is NUMERIC, which psycopg would hand
  over as Decimal), Python bools go in as 0/1 (flags are integers in both schemas);
- psycopg's errors are re-raised as EngineError, so no caller needs to import psycopg.

A writing transaction takes `pg_advisory_xact_lock(WRITER_LOCK_KEY)` right after BEGIN: writers of
every process then run one at a time, exactly as SQLite's BEGIN IMMEDIATE makes them, and every
argument made for exactly-once on SQLite (read the state, decide, write, commit) holds unchanged.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from bot.db.dialect import to_postgresql
from bot.db.fencing import FENCE_SQL, Fence, NotLeader
from bot.db.tx import EngineError, ExecResult, Params, StatementCounter, SyncTx

if TYPE_CHECKING:
    import psycopg

# pg_advisory_xact_lock keys (bigint). Fixed, documented numbers: an operator can see them in pg_locks.
WRITER_LOCK_KEY = 0x57A7_5B07_0001  # every writing transaction
SCHEMA_LOCK_KEY = 0x57A7_5B07_0002  # compat functions at connect (migrations have their own)

# A writer transaction idle (no statement running) this long ends its session: a leader frozen mid-transaction
# (SIGSTOP, a stalled VM) releases the writer lock instead of blocking every other writer for ever.
IDLE_IN_TRANSACTION_SECONDS = 60
_WRITER_OPTIONS = f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_SECONDS * 1000}"

COMPAT_SQL = Path(__file__).with_name("postgresql_compat.sql")

# executemany of `INSERT INTO t(a, b) VALUES (?, ?)` (nothing else: no ON CONFLICT, no literals) with at
# least this many rows goes through COPY (PgSyncTx._copy).
COPY_MIN_ROWS = 2
_PLAIN_INSERT = re.compile(
    r"\s*INSERT\s+INTO\s+(\w+)\s*\(([\w\s,]+)\)\s*VALUES\s*\(\s*\?(?:\s*,\s*\?)*\s*\)\s*", re.IGNORECASE
)


class PgRow(tuple[Any, ...]):
    """A result row: a tuple that also answers `row["column"]` (case-insensitive, as sqlite3.Row)."""

    __slots__ = ()
    _index: dict[str, int] = {}  # noqa: RUF012  (set per column list on a subclass: see _row_class)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._index[key.lower()])
            except KeyError:
                raise IndexError(f"no such column: {key}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


@functools.lru_cache(maxsize=1024)
def _row_class(names: tuple[str, ...]) -> type[PgRow]:
    return type("PgRow", (PgRow,), {"__slots__": (), "_index": {n.lower(): i for i, n in enumerate(names)}})


def _row_factory(cursor: Any) -> Callable[[Sequence[Any]], PgRow]:
    description = cursor.description
    return _row_class(tuple(d.name for d in description) if description else ())


def connect(
    url: str, *, application_name: str = "statsbot", read_only: bool = False, synchronous_commit: bool = True
) -> psycopg.Connection[Any]:
    """A connection in autocommit mode with statsbot's row and type conventions. Raises EngineError.

    `synchronous_commit=False` sets it off for this connection only (the server's default otherwise)."""
    import psycopg
    from psycopg.adapt import Dumper, Loader

    class _NumberLoader(Loader):
        """NUMERIC as int when whole (SUM of integers), else float (AVG): what SQLite returns."""

        def load(self, data: Any) -> int | float:
            text = bytes(data).decode()
            return float(text) if any(c in text for c in ".eEN") else int(text)

    class _FlagDumper(Dumper):
        oid = psycopg.adapters.types["int8"].oid

        def dump(self, obj: Any) -> bytes:
            return b"1" if obj else b"0"

    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        params = conninfo_to_dict(url)
        # Added to the URL's own options (a search_path, say), not in place of them. The writer's session
        # ends when a transaction sits idle too long: a frozen process must not hold the writer lock.
        extra = "-c default_transaction_read_only=on" if read_only else _WRITER_OPTIONS
        if not synchronous_commit:
            extra += " -c synchronous_commit=off"
        params["options"] = f"{params.get('options') or ''} {extra}".strip()
        params.setdefault("connect_timeout", 15)
        params["application_name"] = application_name
        conn = psycopg.connect(
            make_conninfo("", **params), autocommit=True, row_factory=cast(Any, _row_factory)
        )
    except psycopg.Error as exc:
        raise EngineError(f"cannot connect to PostgreSQL: {_oneline(exc)}", exc.sqlstate) from exc
    conn.adapters.register_loader("numeric", _NumberLoader)
    conn.adapters.register_dumper(bool, _FlagDumper)
    return conn


def apply_compat(conn: psycopg.Connection[Any]) -> None:
    """(Re)create the functions SQLite has and PostgreSQL lacks; idempotent, one starter at a time."""
    import psycopg

    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
            conn.execute(cast(Any, COMPAT_SQL.read_text(encoding="utf-8")))
    except psycopg.Error as exc:
        raise EngineError(f"PostgreSQL compat functions: {_oneline(exc)}", exc.sqlstate) from exc


def fence_sql(fence: Fence) -> str:
    """FENCE_SQL with the fence's values inlined (all ints and one timestamp), so that it can share the
    BEGIN's round trip (several statements in one call take no bound parameters)."""
    values = {
        "namespace": str(int(fence.key.namespace)),
        "objid": str(int(fence.key.objid)),
        "pid": str(int(fence.pid)),
        "backend_start": f"'{fence.backend_start.isoformat()}'::timestamptz",
    }
    return FENCE_SQL.strip() % values


def _oneline(exc: BaseException) -> str:
    return " ".join(str(exc).split())


class PgSyncTx(SyncTx):
    """SyncTx over a psycopg connection: same calls, same rows, SQL rewritten for PostgreSQL."""

    __slots__ = ("fence", "on_refused")

    def __init__(self, db: StatementCounter, conn: psycopg.Connection[Any]) -> None:
        super().__init__(db, cast(sqlite3.Connection, conn))
        # Set while this process leads (PgDatabase.bind_fence): every writer transaction then checks
        # that the leadership lock is still held (bot/db/fencing.py). None: operators' commands.
        self.fence: Fence | None = None
        self.on_refused: Callable[[], None] | None = None  # called (on this thread) before NotLeader

    @property
    def pg(self) -> psycopg.Connection[Any]:
        return cast("psycopg.Connection[Any]", self._conn)

    def _run(self, sql: str, params: Params, many: bool = False) -> Any:
        import psycopg

        self._db.statements += 1
        text = to_postgresql(sql)
        cur = self.pg.cursor()
        try:
            if many:
                cur.executemany(cast(Any, text), cast(Any, params))
            else:
                cur.execute(cast(Any, text), params)
        except psycopg.Error as exc:
            raise EngineError(f"{_oneline(exc)} [SQL: {' '.join(sql.split())[:200]}]", exc.sqlstate) from exc
        return cur

    def execute(self, sql: str, params: Params = ()) -> ExecResult:
        return ExecResult(self._run(sql, params).rowcount, None)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        batch = list(rows)
        if not batch:
            return 0
        plain = _PLAIN_INSERT.fullmatch(sql) if len(batch) >= COPY_MIN_ROWS else None
        if plain is not None:
            return self._copy(plain.group(1), plain.group(2), batch, sql)
        return int(self._run(sql, cast(Any, batch), many=True).rowcount)

    def _copy(self, table: str, columns: str, batch: list[Sequence[Any]], sql: str) -> int:
        """The rows of a plain INSERT (columns, then only placeholders) through COPY: one statement for
        all of them, where executemany runs one per row (measured: 5.4 -> 4.0 ms for a round's ~7 player
        and ~47 weapon rows, row triggers included). Row triggers fire as for INSERT; the values go
        through the same dumpers (bools as 0/1)."""
        import psycopg

        self._db.statements += 1
        names = ", ".join(c.strip() for c in columns.split(","))
        try:
            with self.pg.cursor() as cur:
                with cur.copy(cast(Any, f"COPY {table} ({names}) FROM STDIN")) as copy:
                    for row in batch:
                        copy.write_row(row)
                return len(batch)
        except psycopg.Error as exc:
            raise EngineError(f"{_oneline(exc)} [SQL: {' '.join(sql.split())[:200]}]", exc.sqlstate) from exc

    def fetchall(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        cur = self._run(sql, params)
        return cast(list[sqlite3.Row], cur.fetchall() if cur.description else [])

    def begin(self) -> None:
        # One round trip (and one counted statement, like SQLite's BEGIN IMMEDIATE); when fenced, the
        # leadership check rides in the same round trip, after the writer lock, before any write.
        fence = self.fence
        lock = f"BEGIN; SELECT pg_advisory_xact_lock({int(WRITER_LOCK_KEY)})"
        if fence is None:
            self.execute(lock)
            return
        import psycopg

        self._db.statements += 1
        cur = self.pg.cursor()
        try:
            try:
                cur.execute(cast(Any, f"{lock}; {fence_sql(fence)}"))
                while cur.nextset():  # BEGIN, the lock, then the fence's one row
                    pass
                row = cur.fetchone()
            except psycopg.Error as exc:
                raise EngineError(f"BEGIN (fenced): {_oneline(exc)}", exc.sqlstate) from exc
        except BaseException:
            self.rollback_quietly()
            raise
        if row is None or row[0] is not True:
            self.rollback_quietly()
            if self.on_refused is not None:
                self.on_refused()
            raise NotLeader(f"the leadership lock is no longer held by backend pid {fence.pid}")

    def rollback_quietly(self) -> None:
        with contextlib.suppress(EngineError):
            self.rollback()

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        self.execute("ROLLBACK")
