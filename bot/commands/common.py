"""What the command modules share: exit codes, output lines, settings, running a database command."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bot.cli import default_config_path
from bot.config import Settings, load_settings
from bot.db.connection import Database
from bot.db.continuity import Continuity
from bot.db.tx import DRIVER_ERRORS
from bot.errors import DatabaseError
from bot.log import configure_logging

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def out(text: str) -> None:
    """A line of command output (stdout)."""
    sys.stdout.write(text + "\n")


def err(text: str) -> None:
    """A line of diagnostics (stderr)."""
    sys.stderr.write(text + "\n")


def usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def load(args: argparse.Namespace) -> Settings:
    """Settings for an ops command: the default config path may be absent, an explicit one must exist."""
    path = Path(args.config)
    settings = load_settings(path, require_file=path.is_file() or path != default_config_path())
    configure_logging(
        "WARNING" if settings.log.level in ("DEBUG", "INFO") else settings.log.level, settings.log.json
    )
    return settings


def run_async(body: Callable[[], Coroutine[Any, Any, int]]) -> int:
    """Run a command body; a database that cannot be opened or fails mid-command is reported, exit 1."""
    try:
        return asyncio.run(body())
    except DatabaseError as exc:
        err(f"statsbot: {exc}")
        if "already running" in str(exc):
            err("statsbot: stop the daemon first (this command writes to the database)")
        return EXIT_FAILURE
    except DRIVER_ERRORS as exc:
        # Unexpected (a constraint a hand edit broke, a damaged page): one line, not a traceback.
        err(
            f"statsbot: database error: {type(exc).__name__}: {exc} — run `statsbot db check`; "
            "`statsbot registry repair --apply` removes rows orphaned by hand deletes"
        )
        return EXIT_FAILURE


async def open_db(settings: Settings, *, write: bool, accept_data_loss: bool = False) -> Database:
    # Read-only commands run beside the daemon (WAL readers); writers take the single-instance lock and
    # refuse a database that forgot what it held (bot/db/continuity.py).
    from bot.factory import continuity

    guard = continuity(settings, accept_data_loss=accept_data_loss) if write else None
    if settings.on_postgresql:  # no file to find; several processes may write (bot/db/pg_database.py)
        return await open_postgresql(settings, continuity=guard, create=write)
    path = settings.paths.db_path
    if not write and not await asyncio.to_thread(path.exists):
        # Never create an empty database just to read it: a wrong --config or working directory, or a
        # database moved aside as corrupt (the message names it and the restore procedure).
        from bot.ops.dbtools import missing_message

        raise DatabaseError(missing_message(path, settings.backup_dir))
    return await Database.open(path, lock=write, continuity=guard)


async def open_postgresql(
    settings: Settings, *, continuity: Continuity | None = None, create: bool = True
) -> Database:
    """Open the PostgreSQL database of `settings`; a server that cannot be reached (or refuses the login,
    or the schema) is one line naming the URL without its password, never a traceback. `create=False`:
    a database without statsbot's schema is refused (one line), not created (the readers)."""
    from bot.db.pg_database import redacted

    url = str(settings.db_target)
    try:
        synchronous = settings.database.synchronous_commit
        # Unreachable: PgDatabase raises a DatabaseError naming it (bot/db/pg_database.py).
        return await Database.open(
            url, lock=False, continuity=continuity, synchronous_commit=synchronous, create=create
        )
    except DRIVER_ERRORS as exc:  # reached, but its schema or compat functions refused
        raise DatabaseError(f"database refused at {redacted(url)} (password hidden): {exc}") from None


ACCEPT_DATA_LOSS_HELP = (
    "the database holds less than its record says (emptied, restored from an older backup): take it as "
    "it is and import what it lacks again WITHOUT posting it (docs/OPERATIONS.md §3)"
)


def print_json(value: object) -> None:
    out(json.dumps(value, indent=2, sort_keys=False, default=str))
