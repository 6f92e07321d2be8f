"""The direct admin notice of a database that refuses writes, through real discord.py to the fake REST
server: once per condition per process, in the admin channel, bypassing the outbox."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.chat.runtime import start_chat
from bot.db.connection import Database
from bot.ops.db_refused import DbRefusalWatch, refusal
from tests.helpers.chat import discord_settings
from tests.helpers.fake_discord import ADMIN_CHANNEL, STATS_CHANNEL, FakeDiscord


def _real_full_error(tmp_path: Path) -> sqlite3.Error:
    """SQLite's own SQLITE_FULL: a database capped at its current page count refuses to grow."""
    conn = sqlite3.connect(tmp_path / "capped.db")
    try:
        conn.execute("CREATE TABLE t(x)")
        conn.commit()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        try:
            conn.execute("INSERT INTO t VALUES (?)", (b"x" * 100_000,))
        except sqlite3.Error as exc:
            return exc
    finally:
        conn.close()
    raise AssertionError("SQLite did not refuse the write")


async def test_discord_gets_the_notice_once_per_condition_in_the_admin_channel(
    sqlite_db: Database, fake: FakeDiscord, tmp_path: Path
) -> None:
    db = sqlite_db  # the notice names the file's disk and its free space
    full = _real_full_error(tmp_path)
    assert refusal(full) == "disk full"
    chat = await start_chat(discord_settings(), db)
    try:
        watch = DbRefusalWatch(db.path, chat.notice)
        for _ in range(5):  # five refused polls
            assert watch.on_error("poll:main", full)
        assert not watch.on_error("poll:main", RuntimeError("a bug"))  # not ours: the scheduler logs it
        watch.on_success("poll:main")
        watch.on_success("poll:main")  # recovered once, not per successful run
        for _ in range(3):  # the disk fills again in the same process: logged, not sent again
            assert watch.on_error("poll:main", full)
        await watch.close()
    finally:
        await chat.close()
    admin = [r.json["content"] for r in fake.posts(f"/channels/{ADMIN_CHANNEL}/messages")]
    assert len(admin) == 2, admin
    assert admin[0].startswith(f"ALERT statsbot: the database {db.path} refuses writes (disk full; ")
    assert "MB free" in admin[0]
    assert admin[1].startswith(f"RESOLVED statsbot: the database {db.path} accepts writes again")
    assert not fake.posts(f"/channels/{STATS_CHANNEL}/messages")
