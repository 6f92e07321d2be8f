"""`statsbot session show [ID | --last] [--server S] [--json]`: a session as the session post shows it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.commands.common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_USAGE,
    err,
    load,
    open_db,
    out,
    print_json,
    run_async,
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("session", help="gaming sessions: show (teams, score, maps, MVP, awards)")
    sub = p.add_subparsers(dest="session_command", metavar="ACTION")
    show = sub.add_parser("show", help="one session: teams, rosters, score, per-map results, MVP, awards")
    show.add_argument("id", nargs="?", type=int, metavar="ID", help="session id (default: the latest)")
    show.add_argument("--last", action="store_true", help="the latest session (the default without ID)")
    show.add_argument("--server", help="only this game server's sessions")
    show.add_argument("--json", action="store_true", help="the session JSON documented in README")
    show.set_defaults(handler=cmd_show)
    p.set_defaults(handler=lambda _args: (p.print_help(sys.stderr), EXIT_USAGE)[1])


def cmd_show(args: argparse.Namespace) -> int:
    from bot.chat.console import session_text
    from bot.db import chat_queries
    from bot.ingest.session_posts import session_summary_sync

    if args.id is not None and args.last:
        err("statsbot session show: give an ID or --last, not both")
        return EXIT_USAGE
    settings = load(args)

    async def body() -> int:
        # Not the instance lock: at most one short transaction (deriving stale teams) beside the daemon.
        async with await open_db(settings, write=False) as db:
            session_id = args.id
            if session_id is None:
                session_id = await chat_queries.latest_session_id(db, args.server)
            payload = None
            if session_id is not None:
                payload = await db.run_transaction(session_summary_sync, session_id)
        if payload is None or (args.server and payload["server"] != args.server):
            where = f" on server {args.server}" if args.server else ""
            err(f"statsbot session show: no session {args.id if args.id is not None else ''}{where}".rstrip())
            return EXIT_FAILURE
        if args.json:
            print_json(payload)
        else:
            out("\n".join(session_text(payload)))
        return EXIT_OK

    return run_async(body)
