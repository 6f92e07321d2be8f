"""Deletions in the registry: recorded once, the cause only made more precise, cleared on return."""

from __future__ import annotations

from bot.db import files, remote_files
from bot.db.connection import Database

NAME = "2025-10-02-211808-etl_adlernest-round-1.txt"


async def _row(db: Database) -> tuple[object, object]:
    r = await db.fetchone(
        "SELECT remote_gone_at, remote_gone_by FROM processed_files WHERE filename = ?", (NAME,)
    )
    assert r is not None
    return r[0], r[1]


async def test_a_listing_never_overwrites_retentions_own_deletion(db: Database) -> None:
    async with db.transaction() as tx:
        await files.set_state(tx, "main", NAME, "imported", now=1.0, size=10, mtime=5)
        assert await remote_files.mark_gone(tx, "main", {NAME: "retention"}, 2.0) == 1
        # the daemon's next listing (its cache did not know) finds the file gone: not "someone else"
        assert await remote_files.mark_gone(tx, "main", {NAME: "server"}, 3.0) == 0
    assert await _row(db) == (2.0, "retention")
    async with db.transaction() as tx:
        assert await remote_files.mark_gone(tx, "main", {NAME: "operator"}, 4.0) == 1
        assert await remote_files.mark_back(tx, "main", [NAME], 5.0) == 1
        assert await remote_files.mark_back(tx, "main", [NAME], 6.0) == 0
    assert await _row(db) == (None, None)
    events = [e.event for e in await files.events_for(db, "main", NAME)]
    assert events == ["remote_gone", "remote_gone", "remote_back"]
