"""The `statsbot` command line: global options, subcommand dispatch, exit codes (0 ok, 1 failure, 2 usage)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot import __version__
from bot.errors import ConfigError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

# Command-group modules under bot.commands, imported only when the parser is built (never at import time).
COMMAND_MODULES: tuple[str, ...] = (
    "config", "daemon", "parse", "discord", "ops", "upkeep", "outbox", "session", "players",
)  # fmt: skip

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so `main` owns the exit code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: {message}")


class _UsageError(Exception):
    pass


def default_config_path() -> Path:
    """`--config` default: $STATSBOT_CONFIG, else ./statsbot.toml."""
    return Path(os.environ.get("STATSBOT_CONFIG", "statsbot.toml"))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="statsbot", description=__doc__)
    parser.add_argument("--version", action="version", version=f"statsbot {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config file (default: $STATSBOT_CONFIG, else ./statsbot.toml)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_name in COMMAND_MODULES:
        module = importlib.import_module(f"bot.commands.{module_name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help / --version
        return int(exc.code or 0)
    if args.config is None:
        args.config = default_config_path()
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"statsbot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except BrokenPipeError:
        # The reader went away (`statsbot parse DIR | head`): stop quietly, like other Unix tools.
        # Point stdout at /dev/null so the interpreter's final flush does not fail a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_FAILURE
