"""An imported file rewritten on the server: the round is kept, the new version quarantined, one alert."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.app import App
from bot.db import files as dbfiles
from bot.db import ops_queries
from tests.helpers.daemon import Clock, daemon_settings, make_app, server_values
from tests.helpers.sftp import sftp_rig

pytestmark = pytest.mark.usefixtures("daemon_store")  # on SQLite and on PostgreSQL

R1 = "2025-10-02-232339-erdenberg_t2-round-1.txt"
FULL_LISTING = 60.0


async def _cycle(app: App, clock: Clock) -> dict[str, str]:
    """Past the safety-net full listing (a rewrite does not change the folder's mtime), then settle."""
    clock.advance(FULL_LISTING + 1)
    first = await app.pollers["main"].poll()
    clock.advance(3)
    second = await app.pollers["main"].poll()
    return {**first.states, **second.states}


async def _admin_posts(app: App) -> list[str]:
    assert app.db is not None
    return [str(r[0]) for r in await app.db.fetchall("SELECT kind FROM outbox WHERE channel = 'admin'")]


async def test_rewritten_file_is_quarantined_once_and_a_touch_changes_nothing(
    tmp_path: Path, samples_dir: Path
) -> None:
    original = (samples_dir / R1).read_bytes()
    async with sftp_rig(tmp_path) as rig:
        rig.write(R1, original)
        clock = Clock()
        app = make_app(
            daemon_settings(tmp_path, [server_values("main", rig, full_listing_seconds=FULL_LISTING)]), clock
        )
        await app.open()
        try:
            assert await _cycle(app, clock) == {R1: "imported"}
            assert app.db is not None
            [before] = await ops_queries.round_refs(app.db, "main")

            # touch: same bytes, new mtime -> nothing happens
            path = rig.write(R1, original)
            os.utime(path, (path.stat().st_mtime + 100, path.stat().st_mtime + 100))
            assert await _cycle(app, clock) == {}
            assert await _admin_posts(app) == []

            # rewritten with other content (one byte more): the importer keeps the round, quarantines
            rig.write(R1, original + b"\n")
            assert await _cycle(app, clock) == {R1: "quarantined"}
            row = await dbfiles.get_row(app.db, "main", R1)
            assert row is not None
            assert row.last_error is not None
            assert "content changed after import" in row.last_error
            assert [r.id for r in await ops_queries.round_refs(app.db, "main")] == [before.id]
            assert await _admin_posts(app) == ["alert"]

            # later cycles: no second alert, no download loop
            assert await _cycle(app, clock) == {}
            assert await _admin_posts(app) == ["alert"]
        finally:
            await app.close()
