"""Shared plumbing of the tool scripts: the --config option and the exit codes of the statsbot CLI."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.cli import EXIT_USAGE, default_config_path
from bot.errors import ConfigError

Handler = Callable[[argparse.Namespace], int]


def parser(description: str | None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="config file (default: $STATSBOT_CONFIG, else ./statsbot.toml)",
    )
    return p


def run(p: argparse.ArgumentParser, handler: Handler, argv: Sequence[str] | None, **fixed: object) -> int:
    """Parse, fill in the defaults the statsbot CLI would, run the handler; 2 for bad input or config."""
    try:
        args = p.parse_args(argv)
    except SystemExit as exc:  # --help exits 0, a usage error 2: argparse already printed why
        return int(exc.code or 0)
    if args.config is None:
        args.config = default_config_path()
    for key, value in fixed.items():
        setattr(args, key, value)
    try:
        return handler(args)
    except ConfigError as exc:
        sys.stderr.write(f"{p.prog}: {exc}\n")
        return EXIT_USAGE
