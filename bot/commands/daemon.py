"""`statsbot run`, `once`, `import PATH...` and `demo`: the daemon and its one-shot relatives."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from bot.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, default_config_path
from bot.config import Settings, load_settings
from bot.errors import ConfigError, StatsbotError
from bot.key_files import raise_for_key_files
from bot.log import configure_logging


def register(subparsers: Any) -> None:
    from bot.commands.common import ACCEPT_DATA_LOSS_HELP

    run = subparsers.add_parser("run", help="the daemon: poll, import, post; SIGTERM drains and exits 0")
    run.add_argument("--accept-data-loss", action="store_true", help=ACCEPT_DATA_LOSS_HELP)
    run.set_defaults(handler=_run)
    once = subparsers.add_parser("once", help="one complete cycle for every server, then exit (cron)")
    once.add_argument("--accept-data-loss", action="store_true", help=ACCEPT_DATA_LOSS_HELP)
    once.set_defaults(handler=_once)
    imp = subparsers.add_parser("import", help="backfill local stats files or folders (idempotent)")
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="stats files or folders")
    imp.add_argument(
        "--server", help="server name to file them under (default: first configured, or 'local')"
    )
    imp.add_argument(
        "--no-posts",
        action="store_true",
        help="history backfill: import without posting rounds, matches or sessions (alerts still go out)",
    )
    imp.add_argument("--accept-data-loss", action="store_true", help=ACCEPT_DATA_LOSS_HELP)
    imp.set_defaults(handler=_import)
    demo = subparsers.add_parser("demo", help="zero-config showcase against an embedded SSH server")
    demo.add_argument("--speed", type=float, default=1.0, help="release files faster (>1) or slower (<1)")
    demo.set_defaults(handler=_demo)


def _settings(args: argparse.Namespace, *, quiet: bool = False) -> Settings:
    # The default path may be absent (import needs no servers); an explicitly named file must exist.
    explicit = Path(args.config) != default_config_path()
    settings = load_settings(Path(args.config), require_file=explicit or Path(args.config).is_file())
    level = settings.log.level
    if quiet and level in ("DEBUG", "INFO"):
        level = "WARNING"  # a per-file log line would drown the progress bar
    configure_logging(level, settings.log.json)
    return settings


def _run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not settings.enabled_servers:
        sys.stderr.write("statsbot: no enabled [[servers]] in the configuration\n")
        return EXIT_USAGE
    raise_for_key_files(settings)  # exit 2 naming the key, before anything is created
    from bot.app import App

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await App(settings, accept_data_loss=args.accept_data_loss).run(stop)

    return _guarded(main)


def _once(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if not settings.enabled_servers:
        sys.stderr.write("statsbot: no enabled [[servers]] in the configuration\n")
        return EXIT_USAGE
    raise_for_key_files(settings)
    from bot.app import App

    app = App(settings, accept_data_loss=args.accept_data_loss)
    code = _guarded(app.once)
    for result in app.failed:
        sys.stderr.write(f"statsbot once: {_once_failure(settings, result.server, result.error)}\n")
    return code


def _once_failure(settings: Settings, server: str, error: str | None) -> str:
    """Why a server's cycle failed, naming the config key where the configuration is to blame."""
    index, cfg = next((i, s) for i, s in enumerate(settings.servers) if s.name == server)
    if error is not None and "remote_dir " in error and " not found on " in error:  # RemoteDirMissing
        from bot.ops.findings import remote_dir_missing_advice

        return remote_dir_missing_advice(server, (cfg.host, cfg.port), cfg.remote_dir, index)
    return f"{server}: {error or 'the cycle failed'} (`statsbot diagnose --server {server}` says more)"


def _import(args: argparse.Namespace) -> int:
    settings = _settings(args, quiet=True)
    import dataclasses

    from bot.db.connection import Database
    from bot.factory import continuity, import_settings
    from bot.ingest.backfill import backfill, collect

    server = args.server or (settings.servers[0].name if settings.servers else "local")
    try:
        files, rejected = collect(args.paths)
    except FileNotFoundError as exc:
        sys.stderr.write(f"statsbot import: no such file or folder: {exc}\n")
        return EXIT_USAGE
    for path in rejected:
        sys.stderr.write(f"skipped (not a stats file name): {path}\n")
    knobs = dataclasses.replace(import_settings(settings), post_stats=not args.no_posts)

    async def main() -> int:
        guard = continuity(settings, accept_data_loss=args.accept_data_loss)
        opened = Database.open(
            settings.db_target, continuity=guard, synchronous_commit=settings.database.synchronous_commit
        )
        async with await opened as db:
            bar = ProgressBar(sys.stderr)  # its clock starts with the backfill's: the two rates agree
            summary = await backfill(db, files, server=server, settings=knobs, progress=bar.update)
        bar.finish()
        summary.rejected = len(rejected)
        sys.stdout.write(f"{server}: {summary.line()}\n")
        return EXIT_OK if summary.failed + summary.quarantined == 0 else EXIT_FAILURE

    return _guarded(main)


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    return _guarded(lambda: run_demo(speed=max(0.1, args.speed)))


def _guarded(main: Any) -> int:
    try:
        return int(asyncio.run(main()))
    except ConfigError:
        raise  # bot.cli turns it into exit code 2
    except StatsbotError as exc:  # database locked or corrupt, ...: a message, not a traceback
        sys.stderr.write(f"statsbot: {exc}\n")
        return EXIT_FAILURE


class ProgressBar:
    """A one-line bar on a terminal; a plain line every 10% (and at the end) otherwise."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._started = time.perf_counter()
        self._last_draw = 0.0
        self._next_pct = 10
        self._drawn = False

    def update(self, done: int, total: int, name: str) -> None:
        rate = done / max(1e-9, time.perf_counter() - self._started)
        if self._tty:
            now = time.perf_counter()
            if done != total and now - self._last_draw < 0.1:
                return
            self._last_draw = now
            filled = self.WIDTH * done // max(1, total)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            self._stream.write(f"\r[{bar}] {done}/{total} {rate:6.0f} files/s {name[:40]:<40}")
            self._stream.flush()
            self._drawn = True
            return
        pct = 100 * done // max(1, total)
        if pct >= self._next_pct or done == total:
            self._stream.write(f"import: {done}/{total} files ({pct}%), {rate:.0f} files/s\n")
            self._next_pct = (pct // 10 + 1) * 10

    def finish(self) -> None:
        if self._tty and self._drawn:
            self._stream.write("\n")
            self._stream.flush()
