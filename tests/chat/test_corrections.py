"""A post already made is corrected by editing it: outbox subjects, the drainer, Discord PATCH, console.

The case: a round 2 is posted as an orphan (a later round 1 exists, its own is not there), then its
round 1 arrives late and it pairs. Its round post must change, not be posted a second time.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
from pathlib import Path
from typing import Any

from bot.chat.drainer import RetryPolicy
from bot.chat.embeds import footer_marker
from bot.chat.runtime import ChatRuntime, start_chat
from bot.config import Settings
from bot.db import ops_queries, outbox
from bot.db.connection import Database
from bot.factory import import_settings
from bot.ingest.importer import import_file, sweep_pending_round2
from bot.ops.explain import explain, render_journey
from tests.helpers.chat import discord_settings
from tests.helpers.fake_discord import STATS_CHANNEL, FakeDiscord, Fault

B1 = "2025-10-02-230707-braundorf_b4-round-1.txt"
B2 = "2025-10-02-231506-braundorf_b4-round-2.txt"
E1 = "2025-10-02-232339-erdenberg_t2-round-1.txt"
FAST = RetryPolicy(base_seconds=0.02, max_seconds=0.1, jitter=0, poll_seconds=0.05)
B2_TITLE = "braundorf_b4 · round 2"
ORPHAN_NOTE = "Round 1 is missing"  # bot/chat/post_lines.round_note
PAIRED_NOTE = "Round 2 numbers only."


async def import_named(db: Database, samples_dir: Path, *names: str) -> None:
    settings = import_settings(Settings.from_values())
    for name in names:
        data = (samples_dir / name).read_bytes()
        outcome = await import_file(
            db, server="main", filename=name, size=len(data), mtime=0, data=data,
            sha256=hashlib.sha256(data).hexdigest(), settings=settings, now=time.time(),
        )  # fmt: skip
        assert outcome.state == "imported"


async def drain_all(chat: ChatRuntime, db: Database) -> None:
    async with asyncio.timeout(15):
        while await outbox.backlog(db):
            await chat.drain_once()
            await asyncio.sleep(0.02)


def titled(messages: list[dict[str, Any]], title: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["embeds"] and m["embeds"][0].get("title") == title]


async def test_same_subject_is_corrected_never_queued_twice(db: Database) -> None:
    async def put(key: str, payload: dict[str, object]) -> int | None:
        async with db.transaction() as tx:
            return await outbox.enqueue(
                tx,
                kind="round",
                channel="stats",
                dedupe_key=key,
                payload=payload,
                now=1.0,
                subject="round:x:f",
            )

    first = await put("round:x:f:orphan", {"status": "orphan"})
    assert first is not None
    assert await put("round:x:f:orphan", {"status": "orphan"}) is None  # same words: nothing to correct
    paired = await put("round:x:f:paired:a", {"status": "paired"})
    assert paired is not None
    back = await put("round:x:f:orphan", {"status": "orphan"})  # its round 1 moved away again
    assert back is not None
    assert await put("round:x:f:orphan", {"status": "orphan"}) is None
    rows = [await outbox.get(db, i) for i in (first, paired, back)]
    assert [(r.corrects, r.subject) for r in rows if r is not None] == [
        (None, "round:x:f"),
        (first, "round:x:f"),
        (first, "round:x:f"),
    ]


async def test_late_round1_edits_the_orphan_post_on_discord(
    db: Database, fake: FakeDiscord, samples_dir: Path
) -> None:
    chat = await start_chat(discord_settings(), db, policy=FAST)
    try:
        await import_named(db, samples_dir, B2, E1)  # E1 is later: B2 cannot get a round 1 any more
        await drain_all(chat, db)
        [orphan] = titled(fake.visible(), B2_TITLE)
        assert ORPHAN_NOTE in orphan["embeds"][0]["description"]
        await import_named(db, samples_dir, B1)  # ...yet it comes: B2 pairs, its post is corrected
        await drain_all(chat, db)
    finally:
        await chat.close()
    [edited] = titled(fake.visible(), B2_TITLE)  # still one message about B2: the same one, edited
    assert edited["id"] == orphan["id"]
    assert edited["edited_timestamp"] is not None
    assert PAIRED_NOTE in edited["embeds"][0]["description"]
    assert len(fake.posts(f"/channels/{STATS_CHANNEL}/messages/{orphan['id']}", method="PATCH")) == 1
    assert len(titled(fake.visible(), "braundorf_b4 · match")) == 1
    correction = await db.fetchone(
        "SELECT id, nonce, message_id, state FROM outbox WHERE corrects IS NOT NULL"
    )
    assert correction is not None
    assert (correction[2], correction[3]) == (orphan["id"], "sent")
    assert footer_marker(edited["embeds"][0]["footer"]["text"]) == correction[1]


async def test_edit_failing_for_a_while_is_retried_then_applied_once(
    db: Database, fake: FakeDiscord, samples_dir: Path
) -> None:
    fake.edit_faults = [Fault(status=503), Fault(status=500)]
    chat = await start_chat(discord_settings(), db, policy=FAST)
    try:
        await import_named(db, samples_dir, B2, E1)
        await drain_all(chat, db)
        await import_named(db, samples_dir, B1)
        await drain_all(chat, db)
    finally:
        await chat.close()
    [edited] = titled(fake.visible(), B2_TITLE)
    assert PAIRED_NOTE in edited["embeds"][0]["description"]
    assert fake.edit_faults == []


async def test_edit_applied_but_unanswered_is_repeated_harmlessly(
    db: Database, fake: FakeDiscord, samples_dir: Path
) -> None:
    """The connection drops after Discord applied the edit (or the process dies before recording it):
    the edit is made again, which changes nothing more; still one message, the corrected one."""
    fake.edit_faults = [Fault(drop="after_accept")]
    chat = await start_chat(discord_settings(), db, policy=FAST)
    try:
        await import_named(db, samples_dir, B2, E1)
        await drain_all(chat, db)
        await import_named(db, samples_dir, B1)
        await drain_all(chat, db)
    finally:
        await chat.close()
    [edited] = titled(fake.visible(), B2_TITLE)
    assert PAIRED_NOTE in edited["embeds"][0]["description"]
    assert len(fake.posts(f"/channels/{STATS_CHANNEL}/messages/{edited['id']}", method="PATCH")) == 2
    row = await db.fetchone("SELECT state, attempts, message_id FROM outbox WHERE corrects IS NOT NULL")
    assert row is not None
    assert (row[0], row[1], row[2]) == ("sent", 2, edited["id"])


async def test_correction_of_a_dropped_post_is_posted_instead(
    db: Database, fake: FakeDiscord, samples_dir: Path
) -> None:
    chat = await start_chat(discord_settings(), db, policy=FAST)
    try:
        await import_named(db, samples_dir, B2)  # pending its round 1: not posted
        assert await sweep_pending_round2(db, older_than_seconds=0, now=time.time() + 1) != []
        fake.faults = [Fault(status=400)]  # Discord refuses the orphan post: it is dropped (dead)
        await drain_all(chat, db)
        assert titled(fake.visible(), B2_TITLE) == []
        await import_named(db, samples_dir, B1)
        await drain_all(chat, db)
    finally:
        await chat.close()
    [posted] = titled(fake.visible(), B2_TITLE)  # the correction had nothing to edit: it is the post
    assert PAIRED_NOTE in posted["embeds"][0]["description"]
    # An admin re-queues the dead letters: the out-of-date orphan post stays dead (it has a newer post).
    async with db.transaction() as tx:
        requeued = await ops_queries.requeue_dead_posts(tx, None)
    dead = await db.fetchall(
        "SELECT id FROM outbox WHERE state = 'dead' AND subject = ?", (f"round:main:{B2}",)
    )
    assert len(dead) == 1
    assert int(dead[0][0]) not in requeued


async def test_console_prints_a_marked_correction(db: Database, samples_dir: Path) -> None:
    stream = io.StringIO()
    chat = await start_chat(Settings.from_values(discord={"posts": "all"}), db, stream=stream, policy=FAST)
    try:
        await import_named(db, samples_dir, B2, E1)
        await drain_all(chat, db)
        await import_named(db, samples_dir, B1)
        await drain_all(chat, db)
    finally:
        await chat.close()
    text = stream.getvalue()
    first = await db.fetchone(
        "SELECT id FROM outbox WHERE subject = ? AND corrects IS NULL", (f"round:main:{B2}",)
    )
    assert first is not None
    heads = [line for line in text.splitlines() if line.startswith("── ")]
    corrections = [h for h in heads if "CORRECTION" in h]
    assert corrections == [corrections[0]]
    assert corrections[0].endswith(f"· round · CORRECTION: replaces post {first[0]} above")
    assert text.count(ORPHAN_NOTE) == 1  # the orphan post, printed once
    assert text.count(PAIRED_NOTE) == 1  # the correction
    # `statsbot explain` lists both posts of the round 2, the second marked as the correction
    [journey] = await explain(db, Path("unused"), B2)
    lines = [line for line in render_journey(journey).splitlines() if f"round for {B2}" in line]
    assert [("(correction)" in line) for line in lines] == [False, True]
