"""`statsbot discord sync` through the real CLI against the fake Discord server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from tests.helpers.fake_discord import ADMIN_CHANNEL, GUILD_ID, STATS_CHANNEL, FakeDiscord


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "statsbot.toml"
    path.write_text(
        f'[paths]\ndata_dir = "{tmp_path / "data"}"\nlocal_stats = "{tmp_path / "local_stats"}"\n'
        f"[discord]\nguild_id = {GUILD_ID}\nstats_channel_id = {STATS_CHANNEL}\n"
        f"admin_channel_id = {ADMIN_CHANNEL}\n"
    )
    return path


def syncs(fake: FakeDiscord) -> int:
    return len([r for r in fake.requests if r.method == "PUT" and r.path.endswith("/guilds/10/commands")])


async def test_sync_command_forces_and_if_changed_skips(
    fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STATSBOT_DISCORD__TOKEN", "fake-token")
    config = str(write_config(tmp_path))
    # The CLI runs its own event loop: a worker thread, while this loop serves the fake API.
    assert await asyncio.to_thread(main, ["--config", config, "discord", "sync"]) == 0
    assert syncs(fake) == 1
    assert "synced 15 commands to guild 10" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["--config", config, "discord", "sync", "--if-changed"]) == 0
    assert syncs(fake) == 1
    assert "unchanged" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["--config", config, "discord", "sync"]) == 0
    assert syncs(fake) == 2


async def test_sync_without_token_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("STATSBOT_DISCORD__TOKEN", raising=False)
    config = str(write_config(tmp_path))
    assert await asyncio.to_thread(main, ["--config", config, "discord", "sync"]) == 2
    assert "STATSBOT_DISCORD__TOKEN" in capsys.readouterr().err


async def test_rejected_token_names_the_key(
    fake: FakeDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STATSBOT_DISCORD__TOKEN", "revoked")
    fake.token_ok = False
    assert await asyncio.to_thread(main, ["--config", str(write_config(tmp_path)), "discord", "sync"]) == 2
    assert "discord.token" in capsys.readouterr().err
