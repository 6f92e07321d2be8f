"""Import order after a crash: the real poller, SFTP server and SQLite; posts counted in the outbox.

A SIGKILL between download and import leaves files `downloaded` with a local copy. On restart those were
imported at once while files still settling on the server waited: a round 2 and a later round 1 overtook
their own round 1, the round 2 was posted as an orphan and, when its round 1 came, posted again as paired.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest

from bot.app import App
from bot.db import files as dbfiles
from bot.db import ops_queries
from bot.db.connection import Database
from bot.db.rounds import RoundRow
from bot.ingest.order import ImportOrder, round1_map
from bot.ingest.pairing_sync import round1_listed
from bot.ingest.registry import Candidate, Plan
from bot.ingest.settle import SettleGate
from bot.ingest.source import RemoteEntry
from bot.writer_work import _sweep_pending_round2 as sweep_pending_r2_job
from tests.helpers.daemon import Clock, daemon_settings, make_app, server_values
from tests.helpers.sftp import SftpRig, sftp_rig

pytestmark = pytest.mark.usefixtures("daemon_store")  # on SQLite and on PostgreSQL

B1 = "2025-10-02-230707-braundorf_b4-round-1.txt"
B2 = "2025-10-02-231506-braundorf_b4-round-2.txt"
E1 = "2025-10-02-232339-erdenberg_t2-round-1.txt"


async def open_app(tmp_path: Path, rig: SftpRig, clock: Clock) -> App:
    app = make_app(daemon_settings(tmp_path, [server_values("main", rig)]), clock)
    await app.open()
    return app


async def left_downloaded(db: Database, rig: SftpRig, local_dir: Path, names: list[str]) -> None:
    """What a SIGKILL right after the download transaction leaves: local copy + `downloaded` row."""
    local_dir.mkdir(parents=True, exist_ok=True)
    async with db.transaction() as tx:
        for name in names:
            remote = rig.stats_dir / name
            data = remote.read_bytes()
            (local_dir / name).write_bytes(data)
            await dbfiles.set_state(
                tx, "main", name, "downloaded", now=1.0, size=len(data), mtime=int(os.stat(remote).st_mtime),
                sha256=hashlib.sha256(data).hexdigest(),
            )  # fmt: skip


async def round_posts(db: Database) -> dict[str, list[str]]:
    """Round posts per file (dedupe keys), corrections included."""
    rows = await db.fetchall("SELECT dedupe_key FROM outbox WHERE kind = 'round' ORDER BY id")
    found: dict[str, list[str]] = {}
    for (key,) in rows:
        found.setdefault(str(key).split(":")[2], []).append(str(key))
    return found


async def test_downloaded_round2_waits_for_its_settling_round1_after_a_restart(
    tmp_path: Path, samples_dir: Path
) -> None:
    async with sftp_rig(tmp_path) as rig:
        for name in (B1, B2, E1):
            rig.write(name, (samples_dir / name).read_bytes())
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        try:
            assert app.db is not None
            await left_downloaded(app.db, rig, tmp_path / "local_stats" / "main", [B2, E1])
            first = await app.pollers["main"].poll()
            assert first.states == {}  # B1 is still settling: nothing after it goes first
            assert app.pollers["main"].awaited() == {B1, B2, E1}
            assert app.pollers["main"].awaited_round1() == {"braundorf_b4": {B1}, "erdenberg_t2": {E1}}
            clock.advance(3)
            second = await app.pollers["main"].poll()
            assert list(second.states.items()) == [(B1, "imported"), (B2, "imported"), (E1, "imported")]
            rounds = {r.filename: r for r in await ops_queries.round_refs(app.db, "main")}
            assert rounds[B2].status == "paired"
            posts = await round_posts(app.db)
            assert posts == {
                B1: [f"round:main:{B1}"],
                B2: [f"round:main:{B2}:paired:{B1}"],
                E1: [f"round:main:{E1}"],
            }  # one post per round: no orphan post first
            assert app.pollers["main"].awaited() == frozenset()
            assert all(not names for names in app.pollers["main"].awaited_round1().values())
        finally:
            await app.close()


async def test_orphan_verdict_waits_while_its_round1_is_listed(tmp_path: Path, samples_dir: Path) -> None:
    """B1 is listed but cut short (failed, retried later): B2 and E1 import, B2 stays pending, not orphan."""
    full = (samples_dir / B1).read_bytes()
    async with sftp_rig(tmp_path) as rig:
        rig.write(B1, full[: len(full) // 2].rsplit(b"\n", 1)[0])
        for name in (B2, E1):
            rig.write(name, (samples_dir / name).read_bytes())
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        try:
            assert app.db is not None
            await app.pollers["main"].poll()
            clock.advance(3)
            states = (await app.pollers["main"].poll()).states
            assert states == {B1: "failed", B2: "imported", E1: "imported"}
            rounds = {r.filename: r for r in await ops_queries.round_refs(app.db, "main")}
            assert rounds[B2].status == "pending_r1"  # a later round 1 exists, but B1 is listed
            assert B2 not in await round_posts(app.db)
            # The daemon's wall-clock sweep waits for it too, however long the round 2 has been pending.
            await app.db.execute("UPDATE rounds SET imported_at = 0 WHERE filename = ?", (B2,))
            await sweep_pending_r2_job(app)
            rounds = {r.filename: r for r in await ops_queries.round_refs(app.db, "main")}
            assert rounds[B2].status == "pending_r1"
            rig.write(B1, full)  # the complete file: settles, imports, and B2 pairs with it
            for _ in range(3):
                clock.advance(3)
                await app.pollers["main"].poll()
            rounds = {r.filename: r for r in await ops_queries.round_refs(app.db, "main")}
            assert rounds[B2].status == "paired"
            assert (await round_posts(app.db))[B2] == [f"round:main:{B2}:paired:{B1}"]
        finally:
            await app.close()


async def test_round2_waits_when_its_round1_must_be_downloaded_again(
    tmp_path: Path, samples_dir: Path
) -> None:
    """B1's download fails (it changed under the transfer, as after a reset or a full disk): B2 and E1,
    downloaded in the same cycle, wait for it instead of being imported first."""
    full = (samples_dir / B1).read_bytes()
    async with sftp_rig(tmp_path) as rig:
        path = rig.write(B1, full[:400], mtime=1_760_000_000)
        for name in (B2, E1):
            rig.write(name, (samples_dir / name).read_bytes())

        def grow_once(local: bytes, offset: int) -> None:
            if local.endswith(B1.encode()) and offset == 0 and path.stat().st_size < len(full):
                with path.open("ab") as handle:
                    handle.write(full[400:])

        rig.faults.before_read = grow_once
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        try:
            assert app.db is not None
            await app.pollers["main"].poll()
            clock.advance(3)
            second = await app.pollers["main"].poll()
            assert second.states == {}  # B2 and E1 are downloaded, B1 must settle again: they wait
            clock.advance(3)
            third = await app.pollers["main"].poll()
            clock.advance(3)
            fourth = await app.pollers["main"].poll()
            states = {**third.states, **fourth.states}
            assert list(states) == [B1, B2, E1]
            assert set(states.values()) == {"imported"}
            assert (await round_posts(app.db))[B2] == [f"round:main:{B2}:paired:{B1}"]
        finally:
            await app.close()


async def test_once_imports_what_waits_behind_a_file_that_never_settles(
    tmp_path: Path, samples_dir: Path
) -> None:
    """`statsbot once` waits out the gate a few times; files held behind one that keeps changing are then
    imported anyway (the next run takes the changing one), never left behind it for good."""
    full = (samples_dir / B1).read_bytes()
    async with sftp_rig(tmp_path) as rig:
        path = rig.write(B1, full[:400])
        for name in (B2, E1):
            rig.write(name, (samples_dir / name).read_bytes())

        async def keep_writing() -> None:
            while True:
                await asyncio.sleep(0.3)
                with path.open("ab") as handle:
                    handle.write(b"x")

        writer = asyncio.create_task(keep_writing())
        app = make_app(daemon_settings(tmp_path, [server_values("main", rig, min_file_age_seconds=1)]))
        try:
            assert await app.once() == 0
        finally:
            writer.cancel()
        async with await Database.open(app.settings.db_target) as db:
            states = await dbfiles.get_rows(db, "main", [B1, B2, E1])
        assert {n: r.state for n, r in states.items()} == {B1: "seen", B2: "imported", E1: "imported"}


def entry(name: str) -> RemoteEntry:
    return RemoteEntry(name, 10, 100, True)


def test_a_file_that_never_settles_stops_holding_others_after_the_limit() -> None:
    clock = Clock()
    gate = SettleGate(2.0, clock=clock)
    order = ImportOrder(gate, max_hold=60.0, monotonic=clock)
    gate.observe(B1, 10, 100)  # keeps changing: never settles
    later = Candidate(entry(E1), Path("x"))
    queued = order.queue([later], [])
    assert [order.admit(c) for c in queued] == [False]
    assert order.held == 1
    clock.advance(59)
    gate.observe(B1, 11, 101)
    assert [order.admit(c) for c in order.queue([], [])] == [False]
    clock.advance(2)
    assert [c.entry.name for c in order.queue([], []) if order.admit(c)] == [E1]
    # an earlier file never waits for a later one
    gate.observe(E1, 10, 100)
    assert [order.admit(c) for c in order.queue([Candidate(entry(B2), Path("y"))], [])] == [True]


def test_a_fresh_listing_drops_held_files_that_changed_or_vanished() -> None:
    clock = Clock()
    gate = SettleGate(2.0, clock=clock)
    order = ImportOrder(gate, monotonic=clock)
    gate.observe(B1, 10, 100)
    queued = order.queue([Candidate(entry(B2), Path("x")), Candidate(entry(E1), Path("y"))], [])
    assert [order.admit(c) for c in queued] == [False, False]
    order.listed([entry(B2), RemoteEntry(E1, 99, 100, True)], Plan())  # B1 gone, E1 changed
    assert order.held == 1
    assert [c.entry.name for c in order.queue([], []) if order.admit(c)] == [B2]


def test_round1_index_and_which_listed_round1_may_be_a_round2s_own() -> None:
    assert round1_map(B1) == "braundorf_b4"
    assert round1_map("sub/" + E1) == "erdenberg_t2"
    assert round1_map(B2) is None
    assert round1_map("2025-10-02-230707-braundorf_b4-round-1-endstats.txt") is None
    r2 = RoundRow(1, "main", B2, "x", "braundorf_b4", 2, "2025-10-02 23:15:06", "", "", "pending_r1", None,
                  None, True, "")  # fmt: skip
    window = dt.timedelta(minutes=45)
    assert round1_listed({"braundorf_b4": {B1}}, r2, window)
    assert not round1_listed({"braundorf_b4": {B1}}, r2, window, besides=B1)  # the file being imported
    assert not round1_listed({"erdenberg_t2": {E1}}, r2, window)  # another map
    later = "2025-10-02-231507-braundorf_b4-round-1.txt"
    too_old = "2025-10-02-222959-braundorf_b4-round-1.txt"
    edge = "2025-10-02-223006-braundorf_b4-round-1.txt"
    assert not round1_listed({"braundorf_b4": {later, too_old}}, r2, window)
    assert round1_listed({"braundorf_b4": {edge}}, r2, window)  # exactly the window before it
