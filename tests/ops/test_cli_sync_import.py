"""Through the real CLI against the real SFTP server: sync's preview is its act, `sync --no-posts`, and the
import summary's rate against its progress line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.helpers.ops import EVENING, LATER, World, cli, sql, write_config


async def _config(world: World, tmp_path: Path) -> str:
    await world.db.close()  # the writers below take the single-instance lock
    return str(write_config(world, tmp_path / "statsbot.toml"))


async def test_sync_preview_is_the_act_and_no_posts_posts_nothing(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.put_remote(EVENING)
    cfg = await _config(world, tmp_path)
    db = world.settings.db_target
    capsys.readouterr()
    assert await cli(["--config", cfg, "sync", "--dry-run", "--no-posts"]) == 0
    would = re.findall(r"main/(\S+): import → would import", capsys.readouterr().out)
    assert await cli(["--config", cfg, "sync", "--no-posts"]) == 0
    did = re.findall(r"main/(\S+): import → imported", capsys.readouterr().out)
    assert would == did == EVENING
    assert sql(db, "SELECT count(*) FROM rounds") == [(8,)]
    assert sql(db, "SELECT count(*) FROM outbox WHERE channel = 'stats'") == [(0,)]

    world.put_remote(LATER)  # without the flag the same command posts
    assert await cli(["--config", cfg, "sync"]) == 0
    assert sql(db, "SELECT count(*) FROM outbox WHERE kind = 'round'") == [(4,)]


def _rates(text: str) -> list[float]:
    return [float(r) for r in re.findall(r"(\d+) files/s", text)]


async def test_import_summary_rate_is_the_progress_rate(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    for name in EVENING + LATER:
        shutil.copyfile(world.samples / name, folder / name)
    cfg = await _config(world, tmp_path)
    for _ in range(2):  # the second run skips every file (already processed)
        capsys.readouterr()
        assert await cli(["--config", cfg, "import", "--no-posts", str(folder)]) == 0
        captured = capsys.readouterr()
        progress = captured.err.strip().splitlines()[-1]
        assert progress.startswith("import: 12/12 files (100%)")
        [bar_rate] = _rates(progress)
        [summary_rate] = _rates(captured.out)
        assert bar_rate > 0
        assert summary_rate > 0, captured.out  # a re-run that skipped all 12 went through them too
        assert 0.5 <= summary_rate / bar_rate <= 2.0, (progress, captured.out)
        assert "(12 files, " in captured.out  # the summary counts the files the progress counted
