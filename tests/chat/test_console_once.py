"""The console sink prints each post exactly once (issue 10.3): its journal is its channel history."""

from __future__ import annotations

import errno
import io
import os
import sqlite3
from pathlib import Path

import pytest

from bot.chat import journal as journal_mod
from bot.chat.drainer import RetryPolicy
from bot.chat.runtime import start_chat
from bot.config import Settings
from bot.db import outbox
from bot.db.connection import Database
from tests.helpers.chat import enqueue, round_post

HEADER = "── [stats] post "
POLICY = RetryPolicy(base_seconds=0.01, max_seconds=0.01, jitter=0)


def settings(tmp_path: Path) -> Settings:
    return Settings.from_values(
        paths={"data_dir": tmp_path / "data", "local_stats": tmp_path / "ls"}, discord={"posts": "all"}
    )


async def test_post_printed_but_not_marked_sent_is_not_printed_again(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`database or disk is full` when marking a printed post sent: the retry must not print it again."""
    post_id = await enqueue(db, "round", round_post("supply"))
    stream = io.StringIO()
    chat = await start_chat(settings(tmp_path), db, stream=stream, policy=POLICY)
    real_mark_sent = outbox.mark_sent

    async def disk_full(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    try:
        monkeypatch.setattr(outbox, "mark_sent", disk_full)
        for _ in range(3):  # the daemon's drainer retries every pass, logging outbox_drain_failed
            with pytest.raises(sqlite3.OperationalError):
                await chat.drain_once()
        monkeypatch.setattr(outbox, "mark_sent", real_mark_sent)
        await chat.drain_once()
    finally:
        await chat.close()
    assert stream.getvalue().count(HEADER) == 1
    row = await outbox.get(db, post_id)
    assert row is not None
    assert row.state == "sent"
    # A restart (a new sink reading the journal) does not print it again either.
    await db.execute("UPDATE outbox SET state = 'pending' WHERE id = ?", (post_id,))
    again = io.StringIO()
    chat = await start_chat(settings(tmp_path), db, stream=again, policy=POLICY)
    try:
        await chat.drain_once()
    finally:
        await chat.close()
    assert again.getvalue() == ""


async def test_journal_on_a_full_disk_prints_nothing_and_retries(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    post_id = await enqueue(db, "round", round_post("supply"))
    stream = io.StringIO()
    chat = await start_chat(settings(tmp_path), db, stream=stream, policy=POLICY)

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    try:
        monkeypatch.setattr(journal_mod.os, "write", full)
        stats = await chat.drain_once()
        assert (stats.sent, stats.retried, stats.dead) == (0, 1, 0)
        assert stream.getvalue() == ""
        row = await outbox.get(db, post_id)
        assert row is not None
        assert "No space left on device" in (row.last_error or "")
        monkeypatch.undo()
        await db.execute("UPDATE outbox SET next_attempt_at = 0 WHERE id = ?", (post_id,))
        await chat.drain_once()
    finally:
        await chat.close()
    assert stream.getvalue().count(HEADER) == 1


def test_journal_drops_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "console.journal"
    path.write_text("a 1 1.000\ntorn")
    journal = journal_mod.ConsoleJournal(path)
    journal.open()
    try:
        journal.record("b", 2, 2.0)
    finally:
        journal.close()
    reopened = journal_mod.ConsoleJournal(path)
    reopened.open()
    reopened.close()
    assert (reopened.printed("a"), reopened.printed("b"), reopened.printed("torn")) == (True, True, False)


def test_journal_ignores_a_torn_last_line_and_compacts(tmp_path: Path) -> None:
    path = tmp_path / "console.journal"
    lines = [f"n{i} {i} 1.000" for i in range(journal_mod.COMPACT_AT_LINES + 5)]
    path.write_text("\n".join(lines) + "\ntorn-nonce 9")
    journal = journal_mod.ConsoleJournal(path)
    journal.open()
    try:
        assert journal.printed(lines[-1].split()[0])
        assert not journal.printed("torn-nonce")
        assert not journal.printed("n0")  # compacted away: only the newest markers are kept
        journal.record("fresh", 1, 2.0)
    finally:
        journal.close()
    kept = path.read_text().splitlines()
    assert len(kept) == journal_mod.KEEP_LINES + 1
    assert kept[-1].startswith("fresh 1 ")
