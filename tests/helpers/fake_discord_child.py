"""`python -m tests.helpers.fake_discord_child ARGS...`: the statsbot CLI in a child process, with discord.py
talking to a fake Discord REST server (env FAKE_DISCORD_BASE, e.g. http://127.0.0.1:PORT/api/v10).

Crash tests run the real daemon in a separate process they can SIGKILL; the fake server lives in the test.
"""

from __future__ import annotations

import os
import sys

import discord

from bot.cli import main


def run() -> int:
    discord.http.Route.BASE = os.environ["FAKE_DISCORD_BASE"]
    return main()


if __name__ == "__main__":
    sys.exit(run())
