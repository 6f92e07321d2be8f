"""`statsbot db migrate --to postgresql://…`: copy a SQLite database into PostgreSQL, verified, resumable.

The target is migrated to the current schema (PgDatabase.open_url), then every table is copied in
foreign-key order, in primary-key-ordered chunks, ids preserved, each chunk ONE transaction that also
records the progress in the target (`migration_copy`, bot/db/table_copy.py): a copy killed at any
point is resumed by running the same command. The aggregate triggers are off while a chunk is copied
and the aggregate tables are copied as they are, so nothing is counted twice. The identity sequences
are advanced past the copied ids (and past SQLite's AUTOINCREMENT marks). Then every table's row count
and checksum are compared on both sides; only a verified copy drops the progress record, and a
PostgreSQL database that still has one is refused by the daemon (an unfinished copy).

A target that holds rows this command did not put there is refused (the message says what is there)
unless `force`, which empties it first. A target that already holds a verified copy of the source is
reported as such and left unchanged. A target that another statsbot process is connected to (a
daemon, a standby, a command) is refused before anything is read or written: forced, the copy would
empty the database under a running daemon; unforced, the daemon would import into a half-made copy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import structlog

from bot.db import table_copy as tc
from bot.db.connection import Database
from bot.db.leader_status import other_statsbot_sessions_sync
from bot.db.table_checksum import table_digest
from bot.errors import DatabaseError

log = structlog.get_logger(__name__)

DEFAULT_CHUNK = 5000

Say = Callable[[str], None]


class MigrateRefused(DatabaseError):
    """The target is not one this copy may fill (not empty, another source, another schema)."""


@dataclass(frozen=True, slots=True)
class TableCheck:
    """One table's row count and checksum on both sides."""

    table: str
    source_rows: int
    source_sum: str
    target_rows: int
    target_sum: str

    @property
    def ok(self) -> bool:
        return (self.source_rows, self.source_sum) == (self.target_rows, self.target_sum)


@dataclass(frozen=True, slots=True)
class MigrateResult:
    outcome: str  # "copied" | "resumed" | "already"
    checks: tuple[TableCheck, ...]
    rows_copied: int

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def differing(self) -> list[str]:
        return [c.table for c in self.checks if not c.ok]

    def render(self) -> str:
        width = max([len(c.table) for c in self.checks] + [5])
        lines = [f"{'table':<{width}}  {'sqlite rows':>11}  {'pg rows':>9}  checksum (sqlite / pg)  "]
        for c in self.checks:
            mark = "ok" if c.ok else "DIFFERENT"
            lines.append(
                f"{c.table:<{width}}  {c.source_rows:>11}  {c.target_rows:>9}  "
                f"{c.source_sum[:10]} / {c.target_sum[:10]}  {mark}"
            )
        return "\n".join(lines) + "\n"


def public_url(url: str) -> str:
    """The URL without any password (in the netloc or a `password=` parameter): what the TOML gets."""
    parts = urlsplit(url)
    netloc = parts.netloc
    creds, at, host = netloc.rpartition("@")
    if at:
        netloc = f"{creds.split(':', 1)[0]}@{host}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


async def _shapes(source: Database, target: Database) -> list[tc.TableShape]:
    """The target's tables in copy order, checked against the source's (same tables, same columns)."""
    shapes = await target.call(tc.pg_shapes)
    lite = await source.call(tc.sqlite_columns)
    wanted = {s.name: set(s.columns) for s in shapes}
    have = {t: cols for t, cols in lite.items() if t not in tc.NOT_COPIED}
    if wanted != have:
        diff = sorted(t for t in set(wanted) | set(have) if wanted.get(t) != have.get(t))
        raise MigrateRefused(
            f"the SQLite and PostgreSQL schemas differ in {diff}: both are migrated by this statsbot, "
            "so this is a database changed by hand"
        )
    return shapes


async def verify(
    source: Database, target: Database, shapes: Sequence[tc.TableShape]
) -> tuple[TableCheck, ...]:
    """Row count and checksum of every table, read the same way on both sides."""
    checks = []
    for shape in shapes:
        rows_s, sum_s = await source.call(table_digest, shape)
        rows_t, sum_t = await target.call(table_digest, shape)
        checks.append(TableCheck(shape.name, rows_s, sum_s, rows_t, sum_t))
    return tuple(checks)


async def _occupied(target: Database, shapes: Sequence[tc.TableShape]) -> dict[str, int]:
    counts = {s.name: await target.call(tc.count_rows, s.name) for s in shapes if s.name not in tc.SEEDED}
    return {name: n for name, n in counts.items() if n}


def _rows(n: int) -> str:
    return f"{n} row" if n == 1 else f"{n} rows"


async def migrate(
    source: Database,
    target: Database,
    *,
    source_label: str,
    force: bool = False,
    chunk: int = DEFAULT_CHUNK,
    say: Say = lambda _line: None,
) -> MigrateResult:
    """Copy `source` (SQLite, opened with its instance lock) into `target` (PostgreSQL, migrated) and
    verify; see the module doc. Raises MigrateRefused when the target may not be filled."""
    own_name = str(getattr(target, "application_name", "statsbot-migrate"))
    busy = await target.call(other_statsbot_sessions_sync, own_name)
    if busy:  # a daemon would import into (or, with --force, lose) what this copies
        raise MigrateRefused(
            f"statsbot is using the target database: {', '.join(busy)}. Stop every statsbot that uses "
            "it (both instances, with two), then run the command again"
        )
    shapes = await _shapes(source, target)
    instance = await source.call(tc.source_instance)
    progress = await target.call(tc.read_progress)
    outcome = "resumed"
    if progress and not force:
        other = {p.instance for p in progress.values()} - {instance}
        if other:
            first = next(iter(progress.values()))
            raise MigrateRefused(
                f"the target holds an unfinished copy of another SQLite database ({first.source}, instance "
                f"{first.instance}), not of {source_label} (instance {instance}): finish that one, or use "
                "--force to empty the target and start over"
            )
        if set(progress) != {s.name for s in shapes}:
            raise MigrateRefused(
                "the schema changed since this copy started (statsbot was upgraded in between): "
                "use --force to empty the target and copy again"
            )
        say(f"resuming the unfinished copy of {source_label}")
    elif not progress and not force:
        occupied = await _occupied(target, shapes)
        if occupied:
            checks = await verify(source, target, shapes)
            if all(c.ok for c in checks):
                say(f"the target already holds a complete, verified copy of {source_label}: nothing to do")
                return MigrateResult("already", checks, 0)
            what = ", ".join(f"{name} {_rows(n)}" for name, n in sorted(occupied.items()))
            differ = ", ".join(c.table for c in checks if not c.ok)
            raise MigrateRefused(
                f"the target is not empty and holds no copy of {source_label} (finished or not): it has "
                f"{what}; it differs from the source in {differ}. Use --force to EMPTY it (deletes all "
                "of that) and copy"
            )
    if force or not progress:
        await target.run_transaction(tc.start_copy, shapes, source_label, instance)
        log.info("db_migrate_started", source=source_label, tables=len(shapes), force=force)
        progress = await target.call(tc.read_progress)
        outcome = "copied"
    copied = 0
    for shape in shapes:
        copied += await _copy_table(source, target, shape, progress[shape.name], chunk, say)
    marks = await source.call(tc.sqlite_sequences)
    for shape in shapes:
        await target.run_transaction(tc.advance_identity, shape, marks.get(shape.name, 0))
    say("verifying: row counts and checksums of every table")
    checks = await verify(source, target, shapes)
    result = MigrateResult(outcome, checks, copied)
    if result.ok:
        await target.run_transaction(tc.finish_copy)
    log.info("db_migrate_done", source=source_label, ok=result.ok, rows=copied, differing=result.differing)
    return result


async def _copy_table(
    source: Database, target: Database, shape: tc.TableShape, progress: tc.Progress, chunk: int, say: Say
) -> int:
    if progress.state == "done":
        say(f"{shape.name}: copied before ({progress.copied} rows)")
        return 0
    total = await source.call(tc.count_rows, shape.name)
    done, after, copied = progress.copied, progress.last_key, 0
    while progress.state == "rows":
        rows = await source.call(tc.read_chunk, shape, after, chunk)
        last = len(rows) < chunk
        await target.run_transaction(tc.copy_rows, shape, rows, last=last)
        copied += len(rows)
        done += len(rows)
        if rows:
            after = [rows[-1][i] for i in shape.key_index()]
        say(f"{shape.name}: {done}/{total} rows")
        if last:
            break
    columns = shape.self_refs
    for n, column in enumerate(columns):
        refs = await source.call(tc.read_refs, shape, column)
        for start in range(0, max(len(refs), 1), chunk):
            final = n == len(columns) - 1 and start + chunk >= len(refs)
            await target.run_transaction(tc.fix_refs, shape, column, refs[start : start + chunk], last=final)
        say(f"{shape.name}: {len(refs)} {column} references set")
    return copied


def config_advice(url: str, source: Path, data_dir: Path, local_stats: Path) -> str:
    """What to change once the copy is verified (nothing else moves)."""
    return (
        "next steps:\n"
        "  1. in the config file (statsbot.toml), point statsbot at PostgreSQL:\n"
        "       [database]\n"
        f'       url = "{public_url(url)}"\n'
        "     the password stays out of the TOML: set PGPASSWORD in the service's environment, or put it\n"
        "     in ~/.pgpass of the user statsbot runs as (host:port:database:user:password, mode 0600)\n"
        f"  2. leave {local_stats} and {data_dir} as they are: the downloaded files stay the local copies,\n"
        f"     and {source} stays as the last SQLite state (do not run the daemon on it again)\n"
        "  3. start statsbot: it continues on PostgreSQL from the copied registry and outbox, without\n"
        "     importing or posting anything again (check with `statsbot diagnose`)\n"
    )
