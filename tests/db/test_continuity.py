"""The record of what the database held (bot/db/continuity.py): batched, durable first, checked at open."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from bot.db import continuity as cont
from bot.db import outbox
from bot.db.connection import Database
from tests.helpers.engines import NewStore
from tests.helpers.loss import forget_posts_after, wipe

pytestmark = pytest.mark.timeout(30)


def policy(tmp_path: Path, *, accept_data_loss: bool = False) -> cont.Continuity:
    return cont.Continuity(
        backup_dir=tmp_path / "backups",
        local_stats=tmp_path / "local_stats",
        accept_data_loss=accept_data_loss,
    )


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


# --- both engines: the same promise on SQLite and PostgreSQL --------------------------------------


def both(tmp_path: Path, *, accept_data_loss: bool = False) -> cont.Continuity:
    """The policy of one host: its data_dir keeps the PostgreSQL record (SQLite: beside the file)."""
    return cont.Continuity(
        backup_dir=tmp_path / "backups",
        local_stats=tmp_path / "local_stats",
        data_dir=tmp_path / "data",
        accept_data_loss=accept_data_loss,
    )


def record_of(store: Path | str, tmp_path: Path) -> Path:
    if isinstance(store, Path):
        return cont.record_path(store)
    [record] = (tmp_path / "data").glob("statsbot-postgresql-*.watermark")
    return record


async def test_an_emptied_database_is_refused_on_each_engine_and_accepting_rebaselines(
    tmp_path: Path, new_store: NewStore
) -> None:
    store = new_store()
    async with await Database.open(store, continuity=both(tmp_path)) as db:
        await enqueue_sent(db, 2)
    record = record_of(store, tmp_path)
    assert json.loads(record.read_text())["marks"]["sent_max"] == 2
    wipe(store)
    with pytest.raises(cont.DataLossError) as refused:
        await Database.open(store, continuity=both(tmp_path))
    said = str(refused.value)
    assert "is EMPTY: on " in said, said
    assert "had posted up to outbox id 2" in said, said
    assert record.name in said, said
    assert "--accept-data-loss" in said, said
    async with await Database.open(store, continuity=both(tmp_path, accept_data_loss=True)) as db:
        quiet = await db.fetchone("SELECT quiet_until FROM instance WHERE id = 1")
        assert quiet is not None
        assert quiet[0] is not None  # the catch-up is quiet (an empty newest: no round was lost here)
    async with await Database.open(store, continuity=both(tmp_path)):
        pass  # accepted once: the record now describes this database


async def test_a_database_behind_or_replaced_is_refused_by_its_name_on_each_engine(
    tmp_path: Path, new_store: NewStore
) -> None:
    store = new_store()
    async with await Database.open(store, continuity=both(tmp_path)) as db:
        await enqueue_sent(db, 3)
    forget_posts_after(store, 1)
    with pytest.raises(cont.DataLossError, match=r"is BEHIND its record: .* posted up to outbox id 3.*"):
        await Database.open(store, continuity=both(tmp_path))
    # Another statsbot database where this one was (a wrong URL, another file copied in).
    wipe(store)
    async with await Database.open(store) as other:
        await enqueue_sent(other, 1)
    # (SQLite takes a file made after the record for a pre-record backup; a PostgreSQL database has its
    # instance id from its first migration.)
    replaced = r"is another database \(instance \w+, not \w+\)" if isinstance(store, str) else "made by"
    with pytest.raises(cont.DataLossError, match=replaced):
        await Database.open(store, continuity=both(tmp_path))
    async with await Database.open(store, continuity=both(tmp_path, accept_data_loss=True)):
        pass
    async with await Database.open(store, lock=False) as reader:
        assert await reader.loss_refusal(both(tmp_path)) is None


async def test_a_second_host_whose_record_is_older_starts_and_catches_up(
    tmp_path: Path, new_store: NewStore
) -> None:
    """Two instances, two data dirs: the one that stood by finds the database AHEAD of its record (the
    other imported meanwhile): not a loss. A database behind it is refused on that host too."""
    store = new_store()
    host_a, host_b = both(tmp_path / "a"), both(tmp_path / "b")
    async with await Database.open(store, continuity=host_a) as db:
        await enqueue_sent(db, 1)
    async with await Database.open(store, continuity=host_b):
        pass
    async with await Database.open(store, continuity=host_a) as db:
        await enqueue_sent(db, 2, start=1)
    async with await Database.open(store, continuity=host_b) as db:  # ahead of b's record: starts
        assert await db.loss_refusal(host_b) is None
    if isinstance(store, str):  # SQLite's record is beside the file: one for both (one host, one lock)
        assert json.loads(record_of(store, tmp_path / "b").read_text())["marks"]["sent_max"] == 3
    forget_posts_after(store, 2)
    for host in (host_a, host_b):
        with pytest.raises(cont.DataLossError, match="BEHIND"):
            await Database.open(store, continuity=host)


# --- PostgreSQL: one record per configured database and host ---------------------------------------


def with_password(url: str) -> str:
    return url.replace("postgresql://postgres@", "postgresql://postgres:s3cret@", 1)  # trust: ignored


async def test_postgresql_refusal_names_the_database_without_its_password(
    tmp_path: Path, pg_url: str
) -> None:
    url = with_password(pg_url)
    assert "s3cret" in url
    async with await Database.open(url, continuity=both(tmp_path)) as db:
        await enqueue_sent(db, 1)
    [record] = (tmp_path / "data").glob("statsbot-postgresql-*.watermark")
    assert "s3cret" not in record.read_text()
    assert json.loads(record.read_text())["database"].startswith("postgresql://postgres:***@")
    assert not (tmp_path / "data" / "statsbot.watermark").exists()  # never the SQLite record's name
    wipe(pg_url)
    with pytest.raises(cont.DataLossError) as refused:
        await Database.open(url, continuity=both(tmp_path))
    said = str(refused.value)
    assert said.startswith("postgresql://postgres:***@127.0.0.1:5432/"), said
    assert "s3cret" not in said
    assert "is EMPTY" in said
    assert "start the other instance with `--accept-data-loss` too" in said


async def test_postgresql_records_are_one_per_database_and_found_by_instance_id(
    tmp_path: Path, pg_url: str, pg_session_url: str
) -> None:
    from tests.helpers import pg

    with pg.fresh_schema(pg_session_url) as other_url:
        async with await Database.open(pg_url, continuity=both(tmp_path)) as db:
            await enqueue_sent(db, 2)
        async with await Database.open(other_url, continuity=both(tmp_path)):
            pass
        assert len(list((tmp_path / "data").glob("statsbot-postgresql-*.watermark"))) == 2
        # The first database reached under another address (localhost for 127.0.0.1; a restore into a
        # new database with the URL pointed at it): its record is found by the instance id it names.
        moved = pg_url.replace("@127.0.0.1:", "@localhost:", 1)
        assert cont.pg_record_key(moved) != cont.pg_record_key(pg_url)
        forget_posts_after(pg_url, 1)
        with pytest.raises(cont.DataLossError, match=r"BEHIND its record: .* posted up to outbox id 2"):
            await Database.open(moved, continuity=both(tmp_path))


async def test_postgresql_record_is_refreshed_by_a_standby_and_never_lowered_while_running(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from structlog.testing import capture_logs

    from bot.db import pg_database

    monkeypatch.setattr(pg_database, "RECORD_REFRESH_SECONDS", 0.1)
    host_a, host_b = both(tmp_path / "a"), both(tmp_path / "b")
    async with (
        await Database.open(pg_url, continuity=host_a) as leader,
        await Database.open(pg_url, continuity=host_b) as standby,
    ):
        await enqueue_sent(leader, 2)
        record_b = record_of(pg_url, tmp_path / "b")
        for _ in range(100):  # the standby commits nothing: its refresh reads what the leader did
            await asyncio.sleep(0.05)
            if json.loads(record_b.read_text())["marks"]["sent_max"] == 2:
                break
        else:
            pytest.fail("the standby's record was never refreshed")
        # Restored under the running daemons: the records keep what the database held.
        forget_posts_after(pg_url, 1)
        with capture_logs() as logs:
            await enqueue_sent(leader, 1, start=2)  # id 3: ahead of the record again
            await leader.write_record()
            forget_posts_after(pg_url, 0)
            await enqueue_sent(leader, 1, start=3)  # id 4, sent: the database holds 4 only
            forget_posts_after(pg_url, 0)
            await leader.write_record()
            await asyncio.sleep(0.3)
        assert standby is not None
    assert json.loads(record_b.read_text())["marks"]["sent_max"] >= 2  # 3 if it refreshed in between
    assert json.loads(record_of(pg_url, tmp_path / "a").read_text())["marks"]["sent_max"] == 3
    assert "db_record_behind" in [e["event"] for e in logs]
    for host in (host_a, host_b):
        with pytest.raises(cont.DataLossError, match=r"is EMPTY: .* had posted up to outbox id [23] "):
            await Database.open(pg_url, continuity=host)


async def test_postgresql_record_with_asynchronous_commits_waits_for_the_wal_flush(
    tmp_path: Path, pg_url: str
) -> None:
    """`synchronous_commit = false`: a commit is visible before its WAL is flushed; the record names it
    only once PostgreSQL reports the flush past it (within the WAL writer's delay)."""
    async with await Database.open(pg_url, continuity=both(tmp_path), synchronous_commit=False) as db:
        await enqueue_sent(db, 2)
        assert await db.write_record()
        record = json.loads(record_of(pg_url, tmp_path).read_text())
        assert record["marks"]["sent_max"] == 2
