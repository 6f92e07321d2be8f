"""Operations commands: diagnose, sync, registry check|repair, reprocess, explain, retention, health, db."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sqlite3
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bot.cli import default_config_path
from bot.config import Settings, load_settings
from bot.db.connection import Database
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


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "diagnose", help="what is on each server, in local_stats/, in the registry, imported"
    )
    p.add_argument("--server", help="only this server")
    p.add_argument("--json", action="store_true", help="JSON instead of the table (every file listed)")
    p.add_argument("--no-remote", action="store_true", help="do not contact the servers (remote unknown)")
    p.set_defaults(handler=cmd_diagnose)

    p = subparsers.add_parser(
        "sync", help="import files never processed; --restore-local re-downloads copies"
    )
    p.add_argument("--server", help="only this server")
    p.add_argument("--since", type=parse_date, help="only files named on or after this date (YYYY-MM-DD)")
    p.add_argument(
        "--restore-local", action="store_true", help="re-download missing local copies (no import)"
    )
    p.add_argument("--dry-run", action="store_true", help="report what would be done, change nothing")
    p.set_defaults(handler=cmd_sync)

    reg = subparsers.add_parser("registry", help="registry drift: check | repair [--apply]")
    reg.set_defaults(handler=lambda _a: _usage(reg))
    sub = reg.add_subparsers(dest="registry_command", metavar="SUBCOMMAND")
    for name, text in (
        ("check", "list the drift (read-only)"),
        ("repair", "fix the drift (dry run unless --apply)"),
    ):
        c = sub.add_parser(name, help=text)
        c.add_argument("--server", help="only this server")
        if name == "repair":
            c.add_argument("--apply", action="store_true", help="make the changes (default: dry run)")
        c.set_defaults(handler=cmd_registry, registry_command=name)

    p = subparsers.add_parser("reprocess", help="re-import files in one transaction (after a parser fix)")
    p.add_argument("files", nargs="*", metavar="FILE", help="file names (or paths under local_stats/)")
    p.add_argument("--map", dest="map_name", help="every imported round of this map")
    p.add_argument("--since", type=parse_date, help="every imported round played on or after this date")
    p.add_argument("--server", help="the server the files belong to")
    p.add_argument(
        "--source",
        choices=("stored", "local", "remote"),
        default="stored",
        help="content: stored raw content (default; else the local copy), the local copy, or a new download",
    )
    p.add_argument("--dry-run", action="store_true", help="list what would be reprocessed")
    p.set_defaults(handler=_reprocess)

    p = subparsers.add_parser("explain", help="one file's whole journey")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--server", help="the server (default: every server that knows the file)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_explain)

    p = subparsers.add_parser("retention", help="apply the [retention] policy once")
    p.add_argument("--dry-run", action="store_true", help="report what would be compressed/deleted")
    p.set_defaults(handler=_retention)

    p = subparsers.add_parser("health", help="print the health checks; exit 1 when unhealthy")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_health)

    db = subparsers.add_parser("db", help="database: check | backup")
    db.set_defaults(handler=lambda _a: _usage(db))
    sub = db.add_subparsers(dest="db_command", metavar="SUBCOMMAND")
    sub.add_parser("check", help="full integrity check").set_defaults(handler=_db_check)
    b = sub.add_parser("backup", help="online backup into [backup] dir, keeping the newest N")
    b.add_argument("--dest", type=Path, help="folder (default: [backup] dir, else data_dir/backups)")
    b.set_defaults(handler=_db_backup)


def out(text: str) -> None:
    """A line of command output (stdout)."""
    sys.stdout.write(text + "\n")


def err(text: str) -> None:
    """A line of diagnostics (stderr)."""
    sys.stderr.write(text + "\n")


def _usage(parser: argparse.ArgumentParser) -> int:
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
    except sqlite3.Error as exc:
        # Unexpected (a constraint a hand edit broke, a damaged page): one line, not a traceback.
        err(
            f"statsbot: database error: {type(exc).__name__}: {exc} — run `statsbot db check`; "
            "`statsbot registry repair --apply` removes rows orphaned by hand deletes"
        )
        return EXIT_FAILURE


async def open_db(settings: Settings, *, write: bool) -> Database:
    # Read-only commands run beside the daemon (WAL readers); writers take the single-instance lock.
    path = settings.paths.db_path
    if not write and not await asyncio.to_thread(path.exists):
        # Never create an empty database just to read it: a wrong --config or working directory.
        raise DatabaseError(f"no database at {path} (check --config and the working directory)")
    return await Database.open(path, lock=write)


def _print_json(value: object) -> None:
    out(json.dumps(value, indent=2, sort_keys=False, default=str))


def cmd_diagnose(args: argparse.Namespace) -> int:
    from bot.ops.diagnose import diagnose
    from bot.ops.report import render_text, report_to_json

    settings = load(args)

    async def body() -> int:
        async with await open_db(settings, write=False) as db:
            report = await diagnose(db, settings, server=args.server, remote=not args.no_remote)
        if args.json:
            _print_json(report_to_json(report))
        else:
            sys.stdout.write(render_text(report))
        return EXIT_OK if report.healthy else EXIT_FAILURE

    return run_async(body)


def cmd_sync(args: argparse.Namespace) -> int:
    from bot.ops.sync import sync

    settings = load(args)

    async def body() -> int:
        async with await open_db(settings, write=not args.dry_run) as db:
            result = await sync(
                db,
                settings,
                server=args.server,
                since=args.since,
                restore_local=args.restore_local,
                dry_run=args.dry_run,
            )
        sys.stdout.write(result.render())
        return EXIT_OK if result.ok else EXIT_FAILURE

    return run_async(body)


def cmd_registry(args: argparse.Namespace) -> int:
    from bot.db import ops_queries
    from bot.ops.diagnose import servers_to_report
    from bot.ops.repair import apply_changes, check_orphans, check_registry, remove_orphans

    settings = load(args)
    apply = args.registry_command == "repair" and args.apply

    async def body() -> int:
        async with await open_db(settings, write=apply) as db:
            orphans = await check_orphans(db)
            servers = servers_to_report(settings, await ops_queries.known_servers(db), args.server)
            changes = await check_registry(db, servers, settings.paths.local_stats)
            prefix = "applied: " if apply else "would: "
            for orphan in orphans:
                out(prefix + orphan.describe())
            for change in changes:
                out(prefix + change.describe())
            if apply:
                await remove_orphans(db)
                await apply_changes(db, changes)
        total = len(orphans) + len(changes)
        if not total:
            out("registry consistent with the imported data: nothing to do")
            return EXIT_OK
        if args.registry_command == "check" or not apply:
            out(f"{total} change(s) needed: `statsbot registry repair --apply` makes them")
            return EXIT_FAILURE if args.registry_command == "check" else EXIT_OK
        out(f"{total} change(s) applied; `statsbot sync` imports files whose rows were forgotten")
        return EXIT_OK

    return run_async(body)


def _reprocess(args: argparse.Namespace) -> int:
    from bot.ops.reprocess import reprocess, select_targets

    settings = load(args)
    if not args.files and args.map_name is None and args.since is None:
        err("statsbot reprocess: give FILE..., --map MAP or --since DATE")
        return EXIT_USAGE

    async def body() -> int:
        async with await open_db(settings, write=not args.dry_run) as db:
            targets, problems = await select_targets(
                db, settings, files=args.files, map_name=args.map_name, since=args.since, server=args.server
            )
            for problem in problems:
                err(f"skipped: {problem}")
            if args.dry_run:
                for t in targets:
                    out(f"would reprocess {t.server}/{t.filename}")
                return EXIT_OK if not problems else EXIT_FAILURE
            results = await reprocess(db, settings, targets, source=args.source)
        for r in results:
            out(r.line())
        failed = [r for r in results if not r.ok]
        return EXIT_OK if not failed and not problems else EXIT_FAILURE

    return run_async(body)


def _explain(args: argparse.Namespace) -> int:
    from bot.ops.explain import explain, journey_to_json, render_journey, split_file_argument

    settings = load(args)
    name, server = split_file_argument(args.file, settings.paths.local_stats)
    server = args.server or server

    async def body() -> int:
        async with await open_db(settings, write=False) as db:
            journeys = await explain(db, settings.paths.local_stats, name, server)
        if args.json:
            _print_json([journey_to_json(j) for j in journeys])
        else:
            out(
                "\n\n".join(render_journey(j) for j in journeys) or f"{name}: statsbot knows nothing about it"
            )
        return EXIT_OK if journeys else EXIT_FAILURE

    return run_async(body)


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
    from bot.ops.health import check_health

    settings = load(args)

    async def body() -> int:
        async with await open_db(settings, write=False) as db:
            report = await check_health(db, settings)
        if args.json:
            _print_json(report.to_json())
        else:
            sys.stdout.write(report.render())
        return EXIT_OK if report.healthy else EXIT_FAILURE

    return run_async(body)


def _db_check(args: argparse.Namespace) -> int:
    from bot.ops.dbtools import check_database, missing_message

    settings = load(args)
    path = settings.paths.db_path
    if not path.exists():
        err(f"statsbot: {missing_message(path)}")
        return EXIT_FAILURE
    try:
        result = asyncio.run(check_database(path))
    except sqlite3.Error as exc:  # damage integrity_check itself trips over
        err(f"statsbot: {path}: {type(exc).__name__}: {exc}: BAD — restore the newest backup")
        return EXIT_FAILURE
    for message in result.messages:
        out(message)
    out(
        f"{result.path}: {result.size_bytes} bytes, WAL {result.wal_bytes} bytes: "
        + ("OK" if result.ok else "BAD")
    )
    return EXIT_OK if result.ok else EXIT_FAILURE


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
