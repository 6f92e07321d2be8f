"""Upkeep commands: retention, health, db check|backup|migrate."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.commands import dbmigrate
from bot.commands.common import EXIT_FAILURE, EXIT_OK, err, load, open_db, out, print_json, run_async, usage
from bot.db.tx import DRIVER_ERRORS

if TYPE_CHECKING:
    from bot.config import Settings


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("retention", help="apply the [retention] policy once")
    p.add_argument("--dry-run", action="store_true", help="report what would be compressed/deleted")
    p.set_defaults(handler=_retention)

    p = subparsers.add_parser("health", help="print the health checks; exit 1 when unhealthy")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_health)

    db = subparsers.add_parser("db", help="database: check | backup | migrate")
    db.set_defaults(handler=lambda _a: usage(db))
    sub = db.add_subparsers(dest="db_command", metavar="SUBCOMMAND")
    sub.add_parser("check", help="full integrity check").set_defaults(handler=_db_check)
    b = sub.add_parser("backup", help="online backup into [backup] dir, keeping the newest N")
    b.add_argument("--dest", type=Path, help="folder (default: [backup] dir, else data_dir/backups)")
    b.set_defaults(handler=_db_backup)
    dbmigrate.register(sub)


def _retention(args: argparse.Namespace) -> int:
    from bot.ops.retention import run_retention

    settings = load(args)

    async def body() -> int:
        async with await open_db(settings, write=not args.dry_run) as db:
            result = await run_retention(db, settings, dry_run=args.dry_run)
        sys.stdout.write(result.render())
        return EXIT_OK if result.ok else EXIT_FAILURE

    return run_async(body)


def _health(args: argparse.Namespace) -> int:
    from bot.factory import continuity
    from bot.ops.health import Check, HealthReport, check_health

    settings = load(args)

    async def body() -> int:
        async with await open_db(settings, write=False) as db:
            report = await check_health(db, settings)
            refused = await db.loss_refusal(continuity(settings))
        if refused is not None:  # quick_check passes on an emptied or restored file: the record does not
            record = Check("database record", False, f"refused at start: {refused}")
            report = HealthReport((record, *report.checks))
        if args.json:
            print_json(report.to_json())
        else:
            sys.stdout.write(report.render())
        return EXIT_OK if report.healthy else EXIT_FAILURE

    return run_async(body)


def _db_check(args: argparse.Namespace) -> int:
    from bot.ops.dbtools import check_database, missing_message, restore_advice

    settings = load(args)
    if settings.on_postgresql:
        return _db_check_postgresql(settings)
    path = settings.paths.db_path
    if not path.exists():
        err(f"statsbot: {missing_message(path, settings.backup_dir)}")
        return EXIT_FAILURE
    try:
        result = asyncio.run(check_database(path))
    except DRIVER_ERRORS as exc:  # damage integrity_check itself trips over
        advice = restore_advice(path, settings.backup_dir)
        err(f"statsbot: {path}: {type(exc).__name__}: {exc}: BAD — {advice}")
        return EXIT_FAILURE
    for message in (*result.messages, *result.details):
        out(message)
    out(
        f"{result.path}: {result.size_bytes} bytes, WAL {result.wal_bytes} bytes: "
        + ("OK" if result.ok else "BAD")
    )
    if not result.ok and not path.exists():  # moved aside just now: which file, and how to restore
        out(missing_message(path, settings.backup_dir))
    return EXIT_OK if result.ok else EXIT_FAILURE


def _db_check_postgresql(settings: Settings) -> int:
    """No file to check: PostgreSQL checks its pages itself; the logical checks run (ops/db_integrity.py)."""
    from bot.db.pg_database import redacted
    from bot.ops.db_integrity import check_postgresql

    async def body() -> int:
        async with await open_db(settings, write=False) as db:
            messages, details, size = await check_postgresql(db)
        ok = messages == ["ok"]
        for message in (*messages, *details):
            out(message)
        out(f"{redacted(str(settings.db_target))}: {size} bytes: " + ("OK" if ok else "BAD"))
        return EXIT_OK if ok else EXIT_FAILURE

    return run_async(body)


def _db_backup(args: argparse.Namespace) -> int:
    from bot.ops.dbtools import backup_database

    settings = load(args)
    folder = args.dest or settings.backup_dir

    async def body() -> int:
        async with await open_db(settings, write=False) as db:
            dest = await backup_database(db, folder, keep=settings.backup.keep)
        out(f"backup written: {dest}")
        return EXIT_OK

    return run_async(body)
