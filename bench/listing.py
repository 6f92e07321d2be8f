"""One full SFTP listing of a big folder: the lean reader (bot/ingest/sftp_listing.py) against asyncssh's.

Run: .venv/bin/python bench/listing.py [--files 100000] [--rounds 5] [--server embedded|openssh]
                                       [--workdir /tmp/list100k]

The folder is served by the embedded asyncssh server in a process of its own (bench/sftp_serve.py,
`--exec refuse`) or by a real unprivileged OpenSSH sshd (`--server openssh`, `Subsystem sftp
internal-sftp`, bench/openssh_serve.py). Both readers list it over the same connection, alternately, each
round; per reader: wall time and this process's CPU time (the client's decoding), min and median, and
whether both gave the same entries.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import cast

if __package__ in (None, ""):  # run as a script: make `bench` and `bot` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncssh

from bench.latency import PREFILL_BYTES, PREFILL_MTIME, prefill_names, server_process
from bench.openssh_serve import openssh_server
from bot.ingest import sftp_listing
from bot.ingest.sftp_listing import Entry
from bot.ingest.sftp_server import CLIENT_KEY_NAME, KNOWN_HOSTS_NAME


def fill(folder: Path, count: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if sum(1 for _ in os.scandir(folder)) == count:
        return
    for name in prefill_names(count):
        path = folder / name
        path.write_bytes(PREFILL_BYTES)
        os.utime(path, (PREFILL_MTIME, PREFILL_MTIME))


@contextlib.asynccontextmanager
async def embedded(root: Path) -> AsyncIterator[tuple[asyncssh.SSHClientConnection, bytes]]:
    keys = root / "keys"
    keys.mkdir(exist_ok=True)
    async with server_process(root / "served", keys, "refuse") as port, asyncssh.connect(
        "127.0.0.1", port, username="statsbot", client_keys=[str(keys / CLIENT_KEY_NAME)],
        known_hosts=str(keys / KNOWN_HOSTS_NAME), agent_path=None, config=None,
    ) as conn:  # fmt: skip
        yield conn, b"/gamestats"


@contextlib.asynccontextmanager
async def openssh(root: Path) -> AsyncIterator[tuple[asyncssh.SSHClientConnection, bytes]]:
    keys = root / "keys-openssh"
    async with openssh_server(root / "served", keys) as port, asyncssh.connect(
        "127.0.0.1", port, username=getpass.getuser(), client_keys=[str(keys / CLIENT_KEY_NAME)],
        known_hosts=str(keys / KNOWN_HOSTS_NAME), agent_path=None, config=None,
    ) as conn:  # fmt: skip
        yield conn, b"gamestats"


async def timed(fn: Callable[[], Awaitable[set[Entry]]]) -> tuple[float, float, set[Entry]]:
    wall, cpu = time.perf_counter(), time.process_time()
    got = await fn()
    return time.perf_counter() - wall, time.process_time() - cpu, got


async def run(root: Path, files: int, rounds: int, server: str) -> None:
    fill(root / "served" / "gamestats", files)
    serve = embedded if server == "embedded" else openssh
    async with serve(root) as (conn, path):
        sftp = await conn.start_sftp_client()

        async def lean() -> set[Entry]:
            return {e for e in await sftp_listing.read_dir(conn, path) if e[0] not in (b".", b"..")}

        async def stock() -> set[Entry]:
            names = await sftp.readdir(path)
            return {
                (
                    cast(bytes, n.filename),
                    n.attrs.size or 0,
                    int(n.attrs.mtime or 0),
                    (n.attrs.permissions or 0) & 0o170000,
                )
                for n in names
                if n.filename not in (b".", b"..")
            }

        results: dict[str, list[tuple[float, float]]] = {"lean": [], "asyncssh": []}
        same = True
        for _ in range(rounds):
            a_wall, a_cpu, a = await timed(stock)
            l_wall, l_cpu, b = await timed(lean)
            same = same and a == b and len(a) == files
            results["asyncssh"].append((a_wall, a_cpu))
            results["lean"].append((l_wall, l_cpu))
    print(f"{files} entries, {rounds} rounds, server {server}, same entries: {same}")
    for name, rows in results.items():
        walls, cpus = [r[0] for r in rows], [r[1] for r in rows]
        print(
            f"  {name:8} wall min {min(walls):.3f} s median {statistics.median(walls):.3f} s | "
            f"client CPU min {min(cpus):.3f} s median {statistics.median(cpus):.3f} s"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--server", choices=["embedded", "openssh"], default="embedded")
    parser.add_argument("--workdir", type=Path, help="keep the filled folder here between runs")
    args = parser.parse_args(argv)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        asyncio.run(run(args.workdir, args.files, args.rounds, args.server))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp), args.files, args.rounds, args.server))
    return 0


if __name__ == "__main__":
    sys.exit(main())
