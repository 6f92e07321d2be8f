"""`statsbot db migrate --to postgresql://…`: move the SQLite database to PostgreSQL (bot/ops/pg_copy.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.commands.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, err, load, out, run_async


def register(db_subparsers: Any) -> None:
    m = db_subparsers.add_parser(
        "migrate",
        help="copy the SQLite database into PostgreSQL (verified, resumable); stop the daemon first",
    )
    m.add_argument(
        "--to", required=True, metavar="URL", help="postgresql://user@host/db (password: PGPASSWORD)"
    )
    m.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="FILE",
        help="the SQLite file to copy (default: the configured database; a `db backup` file to restore one)",
    )
    m.add_argument("--force", action="store_true", help="EMPTY a non-empty target first, then copy")
    m.add_argument("--chunk", type=int, default=None, help="rows per transaction (default 5000)")
    m.set_defaults(handler=_db_migrate)


def _db_migrate(args: argparse.Namespace) -> int:
    from bot.db.connection import Database
    from bot.db.dialect import is_postgresql_url
    from bot.db.pg_database import PgDatabase, redacted
    from bot.db.tx import EngineError
    from bot.errors import DatabaseError
    from bot.factory import continuity
    from bot.ops.dbtools import missing_message
    from bot.ops.pg_copy import DEFAULT_CHUNK, config_advice, migrate

    settings = load(args)
    if not is_postgresql_url(args.to):
        err(f"statsbot: --to must be a postgresql:// URL, got {redacted(args.to)!r}")
        return EXIT_USAGE
    if args.source is None and settings.on_postgresql:
        err("statsbot: the configured database is PostgreSQL already: name the SQLite file with --from")
        return EXIT_USAGE
    source: Path = args.source or settings.paths.db_path
    if not source.exists():  # never create an empty SQLite file just to copy nothing
        err(f"statsbot: {missing_message(source, settings.backup_dir)}")
        return EXIT_FAILURE
    chunk = args.chunk or DEFAULT_CHUNK

    async def body() -> int:
        # The instance lock, as every writing command takes it: a running daemon makes this refuse.
        guard = continuity(settings) if args.source is None else None
        src = await Database.open(source, lock=True, continuity=guard)
        try:
            dst = await PgDatabase.open_url(args.to, application_name="statsbot-migrate", copying=True)
            try:
                result = await migrate(
                    src, dst, source_label=str(source), force=args.force, chunk=chunk, say=out
                )
            except EngineError as exc:  # a refused statement mid-copy: what was committed stays, resumable
                raise DatabaseError(
                    f"copy into {redacted(args.to)} stopped: {exc} — the copy runs as the owner of the "
                    "statsbot tables (it turns their triggers off while copying); fix the cause and run the "
                    "same command again: it resumes where it stopped"
                ) from exc
            finally:
                await dst.close()
        finally:
            await src.close()
        out(result.render().rstrip("\n"))
        if not result.ok:
            err(
                f"statsbot: the copy differs from {source} in {', '.join(result.differing)}: run "
                "`statsbot db migrate` again (with --force to start over); do not switch the config yet"
            )
            return EXIT_FAILURE
        total = sum(c.target_rows for c in result.checks)
        what = {"copied": "copied", "resumed": "copied (resumed)", "already": "already copied"}[
            result.outcome
        ]
        out(
            f"{what} and verified: {len(result.checks)} tables, {total} rows, {source} -> {redacted(args.to)}"
        )
        out(config_advice(args.to, source, settings.paths.data_dir, settings.paths.local_stats).rstrip("\n"))
        return EXIT_OK

    return run_async(body)
