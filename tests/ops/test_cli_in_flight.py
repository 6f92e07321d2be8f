"""`diagnose` while the daemon imports: files it is still settling or downloading are in flight (harmless)
until they wait longer than several polls and the settle time; a full local disk is named as the blocker."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.app import App
from bot.config import load_settings
from tests.helpers.daemon import QuietChat
from tests.helpers.ops import EVENING, LATER, World, cli, daemon_imported, sql

NEW = LATER[:2]


async def _daemon_lists(cfg: str) -> None:
    """The daemon's first look at the new files: listed, registered as `seen`, settling (not downloaded)."""
    settings = load_settings(Path(cfg))
    server = settings.servers[0].model_copy(update={"min_file_age_seconds": 600.0})
    app = App(settings.model_copy(update={"servers": [server]}), chat_factory=QuietChat())
    await app.open()
    try:
        result = await app.pollers["main"].poll()
        assert result.ok
        assert result.settling == len(NEW)
    finally:
        await app.close()


async def test_files_the_daemon_is_importing_are_in_flight_not_never_processed(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await daemon_imported(world, tmp_path, EVENING[:2])
    world.put_remote(NEW)
    await _daemon_lists(cfg)
    db = world.settings.db_target
    assert sql(db, "SELECT filename, state FROM processed_files WHERE state = 'seen' ORDER BY 1") == [
        (n, "seen") for n in NEW
    ]
    capsys.readouterr()
    assert await cli(["--config", cfg, "diagnose"]) == 0
    out = capsys.readouterr().out
    assert "new on the server, being imported (in flight)" in out
    assert "first listed by the daemon less than" in out
    assert "never processed" not in out

    # Waiting an hour is no longer in flight: the daemon is not picking them up.
    sql(db, "UPDATE processed_files SET first_seen_at = ? WHERE state = 'seen'", (time.time() - 3600,))
    assert await cli(["--config", cfg, "diagnose"]) == 1
    out = capsys.readouterr().out
    assert "! on the server but never processed" in out
    assert "in flight" not in out
    assert "the running daemon picks them up" in out


async def test_a_full_local_disk_is_named_as_the_blocker(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await daemon_imported(world, tmp_path, EVENING[:2])
    world.put_remote(NEW)
    await _daemon_lists(cfg)
    local = world.settings.paths.local_stats / "main"
    message = f"local disk at {local}: No space left on device (server main itself answered)"
    sql(
        world.settings.db_target,
        "INSERT INTO alerts(key, severity, message, opened_at) VALUES ('local_disk:main', 'error', ?, ?)",
        (message, time.time()),
    )
    capsys.readouterr()
    assert await cli(["--config", cfg, "diagnose"]) == 1
    out = capsys.readouterr().out
    assert "! on the server but never processed" in out
    assert f"the local disk is the blocker: {message}" in out
    assert "the running daemon picks them up" not in out
    assert "in flight" not in out
