"""`statsbot config check`: validate the configuration and print the effective values, secrets masked."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.config import ENV_PREFIX, Settings, load_settings
from bot.errors import ConfigError

EXIT_OK = 0
EXIT_USAGE = 2
MASK = "**********"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = subparsers.add_parser("config", help="configuration tools")
    group.set_defaults(handler=lambda _args: _usage(group))
    commands = group.add_subparsers(dest="config_command", metavar="SUBCOMMAND")
    check = commands.add_parser(
        "check",
        help="validate the config file + environment and print the effective configuration",
        description="Load the config file, apply STATSBOT_* environment variables, validate, and print "
        "the effective configuration with secrets masked. Exit 0 if valid, 2 if not.",
    )
    check.set_defaults(handler=run_check)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def run_check(args: argparse.Namespace) -> int:
    path: Path = args.config
    from bot.key_files import check_key_files, unpinned_servers

    try:
        settings = load_settings(path)
        problems = check_key_files(settings)
    except ConfigError as exc:
        problems = [exc]
    if problems:
        for problem in problems:
            sys.stderr.write(f"statsbot: invalid configuration ({path}): {problem.key}: {problem.reason}\n")
        return EXIT_USAGE
    sys.stdout.write(render_settings(settings, source=path) + "\n")
    for warning in [*config_warnings(settings), *unpinned_servers(settings)]:
        sys.stderr.write(f"warning: {warning}\n")
    sys.stderr.write(f"configuration OK: {path}\n")
    return EXIT_OK


def config_warnings(settings: Settings) -> list[str]:
    """Problems that do not make the config invalid but may surprise (key files are errors, not here)."""
    found: list[str] = []
    if not settings.servers:
        found.append("no [[servers]] configured: only `statsbot import` of local files will do anything")
    if not settings.discord.enabled:
        found.append(
            "discord: no token (STATSBOT_DISCORD__TOKEN or discord.token_file): posts go to the console"
        )
    return found


def render_settings(settings: Settings, *, source: Path | None = None) -> str:
    """The effective settings as TOML text (parseable back), secrets replaced by a mask."""
    data = settings.model_dump(mode="python")
    lines = ["# statsbot effective configuration"]
    if source is not None:
        lines.append(f"# file: {source}; {ENV_PREFIX}* environment variables applied; secrets masked")
    lines.append(f"# derived: database = {_value(settings.paths.db_path)}")
    lines.append(f"# derived: backup dir = {_value(settings.backup_dir)}")
    lines.append(f"# derived: discord enabled = {_value(settings.discord.enabled)}")
    for section, value in data.items():
        if isinstance(value, dict):
            _table(lines, section, value, array=False)
        elif isinstance(value, list):
            if not value:
                lines += ["", f"# {section}: none configured"]
            for item in value:
                _table(lines, section, item, array=True)
    return "\n".join(lines)


def _table(lines: list[str], name: str, table: dict[str, Any], *, array: bool) -> None:
    lines += ["", f"[[{name}]]" if array else f"[{name}]"]
    subtables: list[tuple[str, dict[str, Any]]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            subtables.append((f"{name}.{key}", value))
        elif value is None:
            lines.append(f"# {key} = (not set)")
        else:
            lines.append(f"{key} = {_value(value)}")
    for sub_name, sub in subtables:
        _table(lines, sub_name, sub, array=False)


def _value(value: object) -> str:
    if hasattr(value, "get_secret_value"):  # SecretStr: never rendered, whatever its content
        return json.dumps(MASK)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    # JSON string escapes are a subset of TOML basic-string escapes.
    return json.dumps(str(value), ensure_ascii=False)
