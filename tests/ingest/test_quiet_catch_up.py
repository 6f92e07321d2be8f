"""After an accepted data loss, rounds the lost database held are imported again without posts (10.1)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bot.db import continuity as cont
from bot.db import outbox
from bot.db.connection import Database
from bot.ingest.importer import ImportSettings, import_file, sweep_pending_round2
from tests.helpers.engines import NewStore
from tests.helpers.loss import wipe

OLD_R1 = "2024-04-16-220731-te_escape2-round-1.txt"
LONE_R2 = "2024-05-09-200616-etl_sp_delivery-round-2.txt"  # its round 1 is not among the samples
NEW_R1 = "2025-09-24-233255-te_escape2-round-1.txt"


async def imp(db: Database, samples_dir: Path, name: str) -> str:
    data = (samples_dir / name).read_bytes()
    outcome = await import_file(
        db, server="main", filename=name, size=len(data), mtime=1, data=data,
        sha256=hashlib.sha256(data).hexdigest(), settings=ImportSettings(), now=2e9,
    )  # fmt: skip
    return outcome.state


async def stats_posts(db: Database) -> list[str]:
    rows = await db.fetchall("SELECT dedupe_key FROM outbox WHERE channel = 'stats' ORDER BY id")
    return [str(r[0]) for r in rows]


async def test_lost_rounds_and_orphans_are_not_posted_again_new_rounds_are(
    tmp_path: Path, samples_dir: Path, new_store: NewStore
) -> None:
    store = new_store()
    policy = cont.Continuity(
        backup_dir=tmp_path / "backups", local_stats=tmp_path / "local_stats", data_dir=tmp_path / "data"
    )
    async with await Database.open(store, continuity=policy) as db:
        assert await imp(db, samples_dir, OLD_R1) == "imported"
        assert await imp(db, samples_dir, LONE_R2) == "imported"
        await sweep_pending_round2(db, older_than_seconds=0, now=3e9)
        before = await stats_posts(db)
        assert len(before) == 2  # the round 1, the orphan round 2
        for post in await outbox.due(db, now=4e9, limit=10):
            await outbox.mark_sent(db, post.id, "m", 4e9)
    wipe(store)  # lost
    accept = cont.Continuity(
        policy.backup_dir, policy.local_stats, accept_data_loss=True, data_dir=policy.data_dir
    )
    async with await Database.open(store, continuity=accept) as db:
        assert await imp(db, samples_dir, OLD_R1) == "imported"
        assert await imp(db, samples_dir, LONE_R2) == "imported"
        await sweep_pending_round2(db, older_than_seconds=0, now=3e9)
        assert await stats_posts(db) == []  # both were posted before the loss
        assert await imp(db, samples_dir, NEW_R1) == "imported"
        assert await stats_posts(db) == [f"round:main:{NEW_R1}"]  # newer than anything lost: posted
