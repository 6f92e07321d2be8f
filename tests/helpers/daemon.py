"""Helpers for daemon tests: settings for embedded SFTP rigs, a controllable clock, a quiet App."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bot.app import App
from bot.chat.runtime import ChatRuntime, start_chat
from bot.config import Settings
from bot.db.connection import Database
from tests.helpers.sftp import REMOTE_DIR, SftpRig


class Clock:
    """A monotonic clock the test moves by hand (the settle gate and listing schedule use it)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def server_values(name: str, rig: SftpRig, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": name,
        "host": "127.0.0.1",
        "port": rig.server.port,
        "username": "statsbot",
        "private_key": rig.server.client_key_path,
        "known_hosts": rig.server.known_hosts_path,
        "remote_dir": REMOTE_DIR,
        "poll_seconds": 1,
        "min_file_age_seconds": 2,
        # Every cycle lists in most tests: they write files faster than the 1 s mtime resolution.
        "full_listing_seconds": 0.001,
        "connect_timeout_seconds": 3,
        "operation_timeout_seconds": 3,
    }
    values.update(overrides)
    return values


# Set by the `daemon_store` fixture (tests/helpers/engines.py) on its PostgreSQL run: the database URL for
# the settings made under `base` (one database per base, as on SQLite: base/data/statsbot.db).
postgresql_store: Callable[[Path], str] | None = None


def daemon_settings(base: Path, servers: list[dict[str, Any]], **sections: Mapping[str, Any]) -> Settings:
    values: dict[str, Any] = {
        "paths": {"data_dir": base / "data", "local_stats": base / "local_stats"},
        "servers": servers,
        "backup": {"enabled": False},
        "ingest": {"retry_base_seconds": 1, "retry_max_seconds": 2},
    }
    if postgresql_store is not None:
        values["database"] = {"url": postgresql_store(base)}
    values.update(sections)
    return Settings.from_values(**values)


class QuietChat:
    """A console chat runtime writing to a buffer the test can read."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    async def __call__(self, settings: Settings, db: Database) -> ChatRuntime:
        return await start_chat(settings, db, stream=self.stream)


def make_app(settings: Settings, clock: Clock | None = None, chat: QuietChat | None = None) -> App:
    """An App whose monotonic clock the test controls (None: the real one)."""
    app = App(settings, chat_factory=chat or QuietChat())
    if clock is not None:
        app.monotonic = clock
    return app
