"""The record of what the database held (bot/db/continuity.py): batched, durable first, checked at open."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.db import continuity as cont
from bot.db import outbox
from bot.db.connection import Database

pytestmark = pytest.mark.timeout(30)


def policy(tmp_path: Path, **kw: bool) -> cont.Continuity:
    return cont.Continuity(backup_dir=tmp_path / "backups", local_stats=tmp_path / "local_stats", **kw)


async def enqueue_sent(db: Database, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        async with db.transaction() as tx:
            post_id = await outbox.enqueue(
                tx, kind="alert", channel="admin", dedupe_key=f"k{i}", payload={"i": i}, now=1.0
            )
        assert post_id is not None
        await outbox.mark_sent(db, post_id, f"m{i}", 2.0)


async def test_many_commits_rewrite_the_record_a_few_times_and_it_ends_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[int] = []
    real = cont.persist

    def counting(db_path: Path, marks: cont.Marks) -> None:
        real(db_path, marks)
        writes.append(marks.sent_max)

    monkeypatch.setattr(cont, "persist", counting)
    path = tmp_path / "statsbot.db"
    async with await Database.open(path, continuity=policy(tmp_path)) as db:
        writes.clear()  # the first record, of a new install
        await enqueue_sent(db, 300)  # 600 commits
    assert 1 <= len(writes) <= 10, len(writes)
    record = json.loads(cont.record_path(path).read_text())
    assert record["marks"]["sent_max"] == 300  # the close wrote the last state


async def test_the_database_is_synced_before_the_record_claims_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "statsbot.db"
    async with await Database.open(path, continuity=policy(tmp_path)) as db:
        await enqueue_sent(db, 1)
        events: list[str] = []
        real_fsync, real_replace = os.fsync, os.replace

        def fsync(fd: int) -> None:
            events.append("fsync:" + os.readlink(f"/proc/self/fd/{fd}").rsplit("/", 1)[-1])
            real_fsync(fd)

        def replace(src: str | Path, dst: str | Path) -> None:
            events.append("replace:" + Path(dst).name)
            real_replace(src, dst)

        monkeypatch.setattr(os, "fsync", fsync)
        monkeypatch.setattr(os, "replace", replace)
        await enqueue_sent(db, 1, start=1)
        await db.write_record()
        monkeypatch.undo()
    wal = events.index("fsync:statsbot.db-wal")
    assert wal < events.index("replace:statsbot.watermark")
    assert events[events.index("replace:statsbot.watermark") + 1] == "fsync:" + tmp_path.name  # the folder


async def test_an_unreadable_record_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "statsbot.db"
    cont.record_path(path).write_text("{not json")
    with pytest.raises(cont.DataLossError, match=r"statsbot\.watermark: unreadable record"):
        await Database.open(path, continuity=policy(tmp_path))


async def test_readers_neither_check_nor_write_the_record(tmp_path: Path) -> None:
    path = tmp_path / "statsbot.db"
    async with await Database.open(path, lock=False, continuity=policy(tmp_path)) as db:
        await enqueue_sent(db, 1)
    assert not cont.record_path(path).exists()


async def test_a_database_that_never_held_anything_may_be_emptied(tmp_path: Path) -> None:
    path = tmp_path / "statsbot.db"
    async with await Database.open(path, continuity=policy(tmp_path)):
        pass
    path.unlink()
    async with await Database.open(path, continuity=policy(tmp_path)):
        pass  # a fresh database, a new instance id: nothing was held, nothing refused


async def test_an_emptied_database_that_posted_is_refused_and_accepting_rebaselines(tmp_path: Path) -> None:
    path = tmp_path / "statsbot.db"
    async with await Database.open(path, continuity=policy(tmp_path)) as db:
        await enqueue_sent(db, 2)
    path.write_bytes(b"")
    with pytest.raises(cont.DataLossError, match=r"EMPTY: on .* had posted up to outbox id 2"):
        await Database.open(path, continuity=policy(tmp_path))
    async with await Database.open(path, continuity=policy(tmp_path, accept_data_loss=True)):
        pass
    async with await Database.open(path, continuity=policy(tmp_path)):
        pass  # accepted once: the record now describes this database


async def test_the_readers_refusal_is_the_checks_own_decision_and_words(tmp_path: Path) -> None:
    """`refusal` (diagnose, health) and `check` (start) decide alike: the same words, None when it starts."""
    path = tmp_path / "statsbot.db"
    async with await Database.open(path, continuity=policy(tmp_path)) as db:
        assert await db.loss_refusal(policy(tmp_path)) is None  # caught up: nothing to refuse
        await enqueue_sent(db, 2)
    path.write_bytes(b"")
    async with await Database.open(path, lock=False, continuity=policy(tmp_path)) as reader:
        said = await reader.loss_refusal(policy(tmp_path))
    with pytest.raises(cont.DataLossError) as refused:
        await Database.open(path, continuity=policy(tmp_path))
    assert said == str(refused.value)
    assert said is not None
    assert "EMPTY" in said
    # No record, an empty database beside downloaded files: refused alike.
    cont.record_path(path).unlink()
    path.unlink()
    folder = tmp_path / "local_stats" / "main"
    folder.mkdir(parents=True)
    (folder / "2025-10-02-213333-supply-round-1.txt").write_text("x")
    async with await Database.open(path, lock=False, continuity=policy(tmp_path)) as reader:
        said = await reader.loss_refusal(policy(tmp_path))
    with pytest.raises(cont.DataLossError) as refused:
        await Database.open(path, continuity=policy(tmp_path))
    assert said == str(refused.value)
    assert "holds 1 downloaded stats file(s)" in said
