"""`statsbot discord sync`: push the slash-command definitions to the configured guild now."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.config import Settings, load_settings

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = subparsers.add_parser("discord", help="Discord tools")
    group.set_defaults(handler=lambda _args: _usage(group))
    commands = group.add_subparsers(dest="discord_command", metavar="SUBCOMMAND")
    sync = commands.add_parser(
        "sync",
        help="sync the slash commands to the configured guild",
        description="Push the slash-command definitions to the configured guild (the bot also does this "
        "at start, but only when they changed). Needs the token in STATSBOT_DISCORD__TOKEN.",
    )
    sync.add_argument(
        "--if-changed", action="store_true", help="only when the definitions changed since the last sync"
    )
    sync.set_defaults(handler=run_sync)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def run_sync(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    if not settings.discord.enabled:
        sys.stderr.write("statsbot: no Discord token configured (set STATSBOT_DISCORD__TOKEN)\n")
        return EXIT_USAGE
    return asyncio.run(_sync(settings, force=not args.if_changed))


async def _sync(settings: Settings, *, force: bool) -> int:
    import discord  # only this command needs it

    from bot.chat.client import StatsBot, sync_commands
    from bot.db.connection import Database
    from bot.errors import ConfigError

    assert settings.discord.token is not None
    # No instance lock: the daemon may be running; this only writes the command hash.
    db = await Database.open(settings.db_target, lock=False)
    try:
        bot = StatsBot(settings, db, sync_on_start=False)
        try:
            await bot.login(settings.discord.token.get_secret_value())
            synced = await sync_commands(bot, force=force)
            count = len(bot.tree.get_commands(guild=bot.guild))  # before close() unloads the cogs
        except discord.LoginFailure:
            raise ConfigError("discord.token", "Discord rejected the token") from None
        except discord.HTTPException as exc:
            sys.stderr.write(f"statsbot: Discord refused the sync: {exc.status} {exc.text}\n")
            return EXIT_FAILURE
        finally:
            await bot.close()
    finally:
        await db.close()
    if synced:
        sys.stdout.write(f"synced {count} commands to guild {settings.discord.guild_id}\n")
    else:
        sys.stdout.write(f"commands unchanged since the last sync ({count}); nothing sent\n")
    if bot.failed_cogs:
        sys.stderr.write("warning: cogs not loaded: " + ", ".join(sorted(bot.failed_cogs)) + "\n")
    return EXIT_OK
