"""The embedded SSH/SFTP server as a process of its own, for benchmarks that must not share a process (or
its event loop and GIL) with the daemon they measure.

Run: python bench/sftp_serve.py ROOT KEYS [--exec shell|refuse|sftp]

Serves ROOT (chrooted for SFTP; commands run with /bin/sh in ROOT when --exec shell), writes the client
key and known_hosts into KEYS, prints one line `port N` once listening, and runs until its stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bot` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncssh

from bot.ingest.sftp_server import EmbeddedSftpServer, ExecMode
from bot.log import configure_logging


async def serve(root: Path, keys: Path, exec_mode: ExecMode) -> None:
    configure_logging("WARNING", json=False)  # stdout carries the port line; nothing else
    asyncssh.set_log_level("WARNING")
    async with EmbeddedSftpServer(root, keys, exec_mode=exec_mode) as server:
        print(f"port {server.port}", flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.buffer.read)  # until the parent closes our stdin


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("root", type=Path)
    parser.add_argument("keys", type=Path)
    parser.add_argument("--exec", dest="exec_mode", choices=["shell", "refuse", "sftp"], default="shell")
    args = parser.parse_args()
    asyncio.run(serve(args.root, args.keys, args.exec_mode))
    return 0


if __name__ == "__main__":
    sys.exit(main())
