"""Operations commands on files: diagnose, sync, registry check|repair, reprocess, explain."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import TYPE_CHECKING, Any

from bot.commands.common import (
    ACCEPT_DATA_LOSS_HELP,
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    err,
    load,
    open_db,
    out,
    parse_date,
    print_json,
    run_async,
    usage,
)

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = ["cmd_diagnose", "cmd_registry", "cmd_sync", "register"]


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
        "--restore-local",
        action="store_true",
        help="bring back missing local copies: downloaded, or from the stored content (no import)",
    )
    p.add_argument("--dry-run", action="store_true", help="report what would be done, change nothing")
    p.add_argument("--no-posts", action="store_true", help="import without posting the rounds to the channel")
    p.add_argument("--accept-data-loss", action="store_true", help=ACCEPT_DATA_LOSS_HELP)
    p.set_defaults(handler=cmd_sync)

    reg = subparsers.add_parser("registry", help="registry drift: check | repair [--apply]")
    reg.set_defaults(handler=lambda _a: usage(reg))
    sub = reg.add_subparsers(dest="registry_command", metavar="SUBCOMMAND")
    for name, text in (
        ("check", "list the drift (read-only)"),
        ("repair", "fix the drift (dry run unless --apply)"),
    ):
        c = sub.add_parser(name, help=text)
        c.add_argument("--server", help="only this server")
        c.add_argument(
            "--no-remote",
            action="store_true",
            help="do not list the servers (deletions: as the daemon recorded)",
        )
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
    p.add_argument(
        "--stale", action="store_true", help="every round made by an older parser version (stored content)"
    )
    p.add_argument("--dry-run", action="store_true", help="list what would be reprocessed")
    p.set_defaults(handler=_reprocess)

    p = subparsers.add_parser("explain", help="one file's whole journey")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--server", help="the server (default: every server that knows the file)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_explain)


def cmd_diagnose(args: argparse.Namespace) -> int:
    from bot.factory import continuity
    from bot.ops.diagnose import diagnose
    from bot.ops.report import render_text, report_to_json

    settings = load(args)

    async def body() -> int:
        async with await open_db(settings, write=False) as db:
            report = await diagnose(db, settings, server=args.server, remote=not args.no_remote)
            refused = await db.loss_refusal(continuity(settings))
        report = dataclasses.replace(report, refused=refused)
        if args.json:
            print_json(report_to_json(report))
        else:
            sys.stdout.write(render_text(report))
        return EXIT_OK if report.healthy else EXIT_FAILURE

    return run_async(body)


def cmd_sync(args: argparse.Namespace) -> int:
    from bot.ops.sync import sync

    settings = load(args)

    async def body() -> int:
        async with await open_db(
            settings, write=not args.dry_run, accept_data_loss=args.accept_data_loss
        ) as db:
            result = await sync(
                db,
                settings,
                server=args.server,
                since=args.since,
                restore_local=args.restore_local,
                dry_run=args.dry_run,
                posts=not args.no_posts,
            )
        sys.stdout.write(result.render())
        return EXIT_OK if result.ok else EXIT_FAILURE

    return run_async(body)


def cmd_registry(args: argparse.Namespace) -> int:
    from bot.db import ops_queries
    from bot.factory import make_source
    from bot.ingest.source import StatsSource
    from bot.ops.diagnose import servers_to_report
    from bot.ops.repair import FORGET, apply_changes, check_orphans, check_registry, remove_orphans

    settings = load(args)
    apply = args.registry_command == "repair" and args.apply
    configured = {s.name: s for s in settings.servers if s.enabled}

    def source_for(server: str) -> StatsSource | None:
        cfg = configured.get(server)
        return None if cfg is None or args.no_remote else make_source(cfg, settings)

    async def body() -> int:
        async with await open_db(settings, write=apply) as db:
            orphans = await check_orphans(db)
            servers = servers_to_report(settings, await ops_queries.known_servers(db), args.server)
            limit = max(
                (c.connect_timeout_seconds + c.operation_timeout_seconds for c in configured.values()),
                default=30.0,
            )
            changes = await check_registry(
                db, servers, settings.paths.local_stats, source_for=source_for, limit_seconds=limit
            )
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
        if not apply:  # `check` and the dry run of `repair` agree: the same findings, the same exit code
            out(f"{total} change(s) needed: `statsbot registry repair --apply` makes them")
            return EXIT_FAILURE
        forgotten = sum(1 for c in changes if c.action == FORGET)
        then = (
            f"; `statsbot sync` imports the {forgotten} file(s) whose rows were forgotten"
            if forgotten
            else ""
        )
        out(f"{total} change(s) applied{then}")
        return EXIT_OK

    return run_async(body)


def _reprocess(args: argparse.Namespace) -> int:
    from bot.ops.reprocess import reprocess, select_targets

    settings = load(args)
    chosen = bool(args.files) or args.map_name is not None or args.since is not None
    if args.stale and (chosen or args.source != "stored"):
        err("statsbot reprocess: --stale takes no FILE, --map, --since or --source (stored content)")
        return EXIT_USAGE
    if args.stale:
        return _reprocess_stale(args, settings)
    if not chosen:
        err("statsbot reprocess: give FILE..., --map MAP, --since DATE or --stale")
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


def _reprocess_stale(args: argparse.Namespace, settings: Settings) -> int:
    from bot.ops.reprocess_stale import StaleProgress, list_stale, reprocess_stale

    def progress(p: StaleProgress) -> None:
        pct = 100 * p.done // max(1, p.total)
        err(f"reprocess --stale: {p.done}/{p.total} rounds ({pct}%), {p.failed} not reprocessed")

    async def body() -> int:
        async with await open_db(settings, write=not args.dry_run) as db:
            if args.dry_run:
                stale = await list_stale(db, server=args.server)
                for s in stale:
                    out(f"would reprocess {s.server}/{s.filename} (parser version {s.parser_version})")
                out(f"{len(stale)} stale round(s)")
                return EXIT_OK
            run = await reprocess_stale(db, settings, server=args.server, on_progress=progress)
        for r in run.failed:
            out(r.line())
        out(run.summary())
        return EXIT_OK if run.ok else EXIT_FAILURE

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
            print_json([journey_to_json(j) for j in journeys])
        else:
            out(
                "\n\n".join(render_journey(j) for j in journeys) or f"{name}: statsbot knows nothing about it"
            )
        return EXIT_OK if journeys else EXIT_FAILURE

    return run_async(body)
