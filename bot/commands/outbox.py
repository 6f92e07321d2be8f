"""`statsbot outbox list|retry`: the posts the drainer gave up on, and re-queueing them."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from bot.commands.common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    err,
    load,
    open_postgresql,
    out,
    run_async,
)
from bot.db.connection import Database
from bot.errors import DatabaseError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("outbox", help="posts the drainer gave up on: list | retry")
    sub = p.add_subparsers(dest="outbox_command", metavar="ACTION")
    sub.add_parser("list", help="dead posts with their last error").set_defaults(handler=cmd_list)
    retry = sub.add_parser("retry", help="re-queue dead posts (safe while the daemon runs)")
    retry.add_argument("ids", nargs="*", type=int, metavar="ID", help="outbox ids (see `outbox list`)")
    retry.add_argument("--all", action="store_true", help="every dead post")
    retry.set_defaults(handler=cmd_retry)
    p.set_defaults(handler=lambda _args: (p.print_help(sys.stderr), EXIT_USAGE)[1])


async def _open(args: argparse.Namespace) -> Database:
    settings = load(args)
    if settings.on_postgresql:  # as a missing file below: never create the schema just to list a queue
        return await open_postgresql(settings, create=False)
    path = settings.paths.db_path
    if not path.exists():
        raise DatabaseError(f"no database at {path} (check --config and the working directory)")
    # No instance lock: one short transaction beside the running daemon (WAL, busy_timeout) is safe,
    # and the drainer reads the queue afresh on every pass.
    return await Database.open(path, lock=False)


def cmd_list(args: argparse.Namespace) -> int:
    from bot.ops.outbox import list_dead

    async def body() -> int:
        async with await _open(args) as db:
            dead = await list_dead(db)
        if not dead:
            out("no dead posts")
            return EXIT_OK
        for post in dead:
            created = dt.datetime.fromtimestamp(post.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M")
            out(f"{post.id:>6}  {post.kind:<14} {post.channel:<5} {created}Z  {post.last_error or ''}")
        out(f"{len(dead)} dead post(s); fix the cause, then `statsbot outbox retry --all` (or IDs)")
        return EXIT_OK

    return run_async(body)


def cmd_retry(args: argparse.Namespace) -> int:
    from bot.ops.outbox import retry_dead

    if bool(args.ids) == bool(args.all):
        err("statsbot outbox retry: give outbox IDs or --all (not both)")
        return EXIT_USAGE

    async def body() -> int:
        async with await _open(args) as db:
            requeued = await retry_dead(db, None if args.all else args.ids)
        missing = sorted(set(args.ids) - set(requeued))
        if requeued:
            out(f"re-queued {len(requeued)} post(s): {', '.join(map(str, requeued))}")
        if missing:
            err(f"not dead (or unknown), left alone: {', '.join(map(str, missing))}")
            return EXIT_FAILURE
        if not requeued:
            out("no dead posts")
        return EXIT_OK

    return run_async(body)
