"""One instance of the failover test: become leader, then write one tick row per interval under the fence.

    python -m tests.helpers.leader_child URL NAME --tick S --retry S --heartbeat S --session-timeout S

Prints `leader <os pid> <backend pid>` when it wins, `fenced <os pid>` when the fence refuses a tick,
`lost <os pid>` when the heartbeat notices the loss (then it waits to lead again). Logs go to stderr.
Each tick is what an import is to statsbot: one transaction that takes the writer lock, checks the
fence, and writes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

import psycopg
import structlog

from bot.db.fencing import Fence, NotLeader, assert_leader_sync
from bot.db.leadership import Leadership

WRITER_KEY = 0x5342_5752  # stand-in for the Database's writer lock (serialises writer transactions)


def say(text: str) -> None:
    print(f"{text} {os.getpid()}", flush=True)


def connect_writer(url: str) -> psycopg.Connection[tuple[object, ...]]:
    # A writer stopped inside a transaction must not block the next leader's writes forever.
    return psycopg.connect(url, options="-c idle_in_transaction_session_timeout=1000")


def write_tick(conn: psycopg.Connection[tuple[object, ...]], fence: Fence, name: str) -> None:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_KEY,))
        assert_leader_sync(conn, fence)
        conn.execute(
            "INSERT INTO ticks (instance, os_pid, backend_pid) VALUES (%s, %s, %s)",
            (name, os.getpid(), fence.pid),
        )


async def lead(args: argparse.Namespace) -> None:
    leadership = Leadership(
        args.url,
        instance=args.name,
        retry_seconds=args.retry,
        heartbeat_seconds=args.heartbeat,
        session_timeout_seconds=args.session_timeout,
    )
    writer = await asyncio.to_thread(connect_writer, args.url)
    while True:
        fence = await leadership.acquire()
        print(f"leader {os.getpid()} {fence.pid}", flush=True)
        while not leadership.lost.is_set():
            try:
                await asyncio.to_thread(write_tick, writer, fence, args.name)
            except NotLeader:
                say("fenced")
                await leadership.release()
                break
            except psycopg.OperationalError:  # the writer session was ended: reconnect, try again
                writer = await asyncio.to_thread(connect_writer, args.url)
                continue
            await asyncio.sleep(args.tick)
        if leadership.lost.is_set():
            say("lost")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("name")
    for option in ("tick", "retry", "heartbeat", "session-timeout"):
        parser.add_argument(f"--{option}", type=float, required=True)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    asyncio.run(lead(parser.parse_args()))


if __name__ == "__main__":
    main()
