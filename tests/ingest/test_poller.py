"""Poll cycles against the real in-process SFTP server and a real SQLite database."""

from __future__ import annotations

import asyncio
import hashlib
import os
from pathlib import Path

import asyncssh
import pytest
from structlog.testing import capture_logs

from bot.app import App
from bot.db import files as dbfiles
from bot.db import ops_queries, outbox, status
from bot.ingest.poll_health import unreachable_key
from bot.ingest.poller import CycleResult
from bot.ingest.ssh_source import SshSource
from tests.helpers.daemon import Clock, daemon_settings, make_app, server_values
from tests.helpers.sftp import SftpRig, sftp_rig, tree_outside

pytestmark = pytest.mark.usefixtures("daemon_store")  # on SQLite and on PostgreSQL

R1 = "2025-10-02-232339-erdenberg_t2-round-1.txt"
R2 = "2025-10-02-232818-erdenberg_t2-round-2.txt"
S1 = "2025-10-02-213333-supply-round-1.txt"
S2 = "2025-10-02-214239-supply-round-2.txt"


def sample(samples_dir: Path, name: str) -> bytes:
    return (samples_dir / name).read_bytes()


async def settle_cycle(app: App, clock: Clock, server: str = "main") -> dict[str, str]:
    """Two polls with the settle gate's quiet period between them; the states of what was imported."""
    first = await app.pollers[server].poll()
    clock.advance(3)
    second = await app.pollers[server].poll()
    return {**first.states, **second.states}


async def open_app(tmp_path: Path, rig: SftpRig, clock: Clock, **server: object) -> App:
    app = make_app(daemon_settings(tmp_path, [server_values("main", rig, **server)]), clock)
    await app.open()
    return app


async def rounds_by_file(app: App, server: str = "main") -> dict[str, ops_queries.RoundRef]:
    assert app.db is not None
    return {r.filename: r for r in await ops_queries.round_refs(app.db, server)}


async def test_new_files_are_imported_once_and_restart_imports_nothing(
    tmp_path: Path, samples_dir: Path
) -> None:
    names = [S1, S2, R1, R2]
    async with sftp_rig(tmp_path) as rig:
        for name in names:
            rig.write(name, sample(samples_dir, name))
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        try:
            first = await app.pollers["main"].poll()
            assert (first.ok, first.listed, first.states) == (True, True, {})  # seen once: not settled
            clock.advance(3)
            second = await app.pollers["main"].poll()
            assert second.states == dict.fromkeys(names, "imported")
            assert list(second.states) == sorted(names)  # imported in file-name (time) order
            clock.advance(3)
            assert (await app.pollers["main"].poll()).states == {}
            assert set(await rounds_by_file(app)) == set(names)
            for name in names:  # the local copy is the remote file, byte for byte
                assert (tmp_path / "local_stats" / "main" / name).read_bytes() == sample(samples_dir, name)
        finally:
            await app.close()
        # A new App on the same database: the memory layer answers, nothing is downloaded or imported.
        again = await open_app(tmp_path, rig, clock)
        try:
            with capture_logs() as logs:
                states = await settle_cycle(again, clock)
            assert states == {}
            decisions = [e for e in logs if e["event"] == "cycle_decisions"]
            assert decisions
            assert all((e["memory"], e["new"]) == (4, 0) for e in decisions)
            assert len(await rounds_by_file(again)) == 4
        finally:
            await again.close()


async def test_growing_file_is_imported_only_once_settled(tmp_path: Path, samples_dir: Path) -> None:
    data = sample(samples_dir, R1)
    async with sftp_rig(tmp_path) as rig:
        path = rig.write(R1, data[:300], mtime=1_760_000_000)
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        try:
            assert (await app.pollers["main"].poll()).states == {}
            clock.advance(3)
            with path.open("ab") as handle:  # the game server writes the rest
                handle.write(data[300:])
            os.utime(path, (1_760_000_001, 1_760_000_001))
            assert (await app.pollers["main"].poll()).states == {}  # changed since the last listing
            clock.advance(1)
            assert (await app.pollers["main"].poll()).states == {}  # unchanged, but only for 1 s
            clock.advance(2)
            assert (await app.pollers["main"].poll()).states == {R1: "imported"}
            assert app.db is not None
            row = (await dbfiles.get_rows(app.db, "main", [R1]))[R1]
            assert row.sha256 == hashlib.sha256(data).hexdigest()
            assert row.size == len(data)
        finally:
            await app.close()


async def test_round2_before_round1_is_paired_when_round1_arrives(tmp_path: Path, samples_dir: Path) -> None:
    async with sftp_rig(tmp_path) as rig:
        rig.write(R2, sample(samples_dir, R2))
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        try:
            assert await settle_cycle(app, clock) == {R2: "imported"}
            assert (await rounds_by_file(app))[R2].status == "pending_r1"
            rig.write(R1, sample(samples_dir, R1))
            clock.advance(3)
            assert await settle_cycle(app, clock) == {R1: "imported"}
            rounds = await rounds_by_file(app)
            assert rounds[R2].status == "paired"
            assert rounds[R2].paired_round_id == rounds[R1].id
        finally:
            await app.close()


def corrupt(data: bytes) -> bytes:
    lines = data.split(b"\n")
    lines[1] = lines[1].rsplit(b"\\", 1)[0] + b"\\garbage"
    return b"\n".join(lines)


async def test_corrupt_file_is_quarantined_with_one_alert(tmp_path: Path, samples_dir: Path) -> None:
    async with sftp_rig(tmp_path) as rig:
        rig.write(R1, corrupt(sample(samples_dir, R1)))
        rig.write(S1, sample(samples_dir, S1))
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        try:
            with capture_logs() as logs:
                assert await settle_cycle(app, clock) == {R1: "quarantined", S1: "imported"}
            levels = {e["file"]: e["log_level"] for e in logs if e["event"] == "file_import_result"}
            assert levels == {R1: "warning", S1: "info"}
            for _ in range(4):
                clock.advance(3)
                assert (await app.pollers["main"].poll()).states == {}
            assert app.db is not None
            row = (await dbfiles.get_rows(app.db, "main", [R1]))[R1]
            assert row.state == "quarantined"
            assert row.last_error is not None
            assert "line 2" in row.last_error
            posts = await outbox.due(app.db, now=1e12, limit=100)
            alerts = [p for p in posts if p.kind == "alert"]
            assert len(alerts) == 1
            assert R1 in str(alerts[0].payload)
        finally:
            await app.close()


async def test_quarantined_file_rewritten_with_another_error_is_posted_again(
    tmp_path: Path, samples_dir: Path
) -> None:
    async with sftp_rig(tmp_path) as rig:
        rig.write(R1, corrupt(sample(samples_dir, R1)))
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        try:
            assert await settle_cycle(app, clock) == {R1: "quarantined"}
            # The admin fixes line 2 but breaks line 3: a new problem, worth a new post.
            lines = sample(samples_dir, R1).split(b"\n")
            lines[2] = lines[2].replace(b"\t", b"\tx", 1)
            rig.write(R1, b"\n".join(lines))
            os.utime(rig.stats_dir / R1, (2e9, 2e9))
            clock.advance(3)
            assert await settle_cycle(app, clock) == {R1: "quarantined"}
            # The same bytes again (only the mtime moves): the same problem, no new post.
            os.utime(rig.stats_dir / R1, (2.1e9, 2.1e9))
            clock.advance(3)
            await settle_cycle(app, clock)
            assert app.db is not None
            alerts = [p for p in await outbox.due(app.db, now=1e12, limit=100) if p.kind == "alert"]
            assert len(alerts) == 2
            assert "line 2" in str(alerts[0].payload)
            assert "line 3" in str(alerts[1].payload)
            alert = await status.get_alert(app.db, f"quarantined:main:{R1}")
            assert alert is not None
            assert "line 3" in alert.message
            assert alert.resolved_at is None
        finally:
            await app.close()


async def test_hostile_names_are_refused_and_reported_once(tmp_path: Path, samples_dir: Path) -> None:
    async with sftp_rig(tmp_path) as rig:
        rig.write(S1, sample(samples_dir, S1))
        rig.write("notes.txt", b"not a stats file\n")
        attrs = asyncssh.SFTPAttrs.from_local((rig.stats_dir / S1).stat())
        hostile = [b"../" + S1.encode(), b"a/" + S1.encode(), b"x\x00y-round-1.txt", S1.encode() + b"\n",
                   b"/etc/passwd", b"2025-10-02-213333-\xff-round-1.txt"]  # fmt: skip
        rig.faults.extra_names = [asyncssh.SFTPName(n, attrs=attrs) for n in hostile]
        os.symlink("/etc/passwd", rig.stats_dir / "2025-10-03-000000-passwd-round-1.txt")
        before = tree_outside(tmp_path, tmp_path / "local_stats")
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        try:
            with capture_logs() as logs:
                states = await settle_cycle(app, clock)
                for _ in range(3):
                    clock.advance(3)
                    await app.pollers["main"].poll()
            assert states == {S1: "imported"}
            rejected = [e for e in logs if e["event"] == "remote_name_rejected"]
            assert len(rejected) == len(hostile) + 1  # + notes.txt; each exactly once; symlink not a file
            assert sorted(os.listdir(tmp_path / "local_stats" / "main")) == [S1]
            assert app.db is not None
            assert set((await ops_queries.state_counts(app.db)).values()) == {1}
        finally:
            await app.close()
    assert tree_outside(tmp_path, tmp_path / "local_stats") - before <= {
        p for p in tmp_path.rglob("*") if p.is_relative_to(tmp_path / "data")
    }


async def test_one_server_down_others_import_alert_once_resolved_once(
    tmp_path: Path, samples_dir: Path
) -> None:
    async with sftp_rig(tmp_path / "a") as rig_a, sftp_rig(tmp_path / "b") as rig_b:
        rig_a.write(S1, sample(samples_dir, S1))
        rig_b.write(R1, sample(samples_dir, R1))
        settings = daemon_settings(
            tmp_path, [server_values("a", rig_a), server_values("b", rig_b)],
            health={"unreachable_alert_polls": 3},
        )  # fmt: skip
        clock = Clock()
        app = make_app(settings, clock)
        app.sources = {"b": SshSource(rig_b.params("b"))}  # test-sized reconnect backoff
        await app.open()
        assert app.db is not None
        key = unreachable_key("b")
        try:
            await rig_b.server.stop()
            results: list[CycleResult] = []
            for _ in range(5):
                results.append(await app.pollers["a"].poll())
                results.append(await app.pollers["b"].poll())
                clock.advance(3)
            assert any(r.states == {S1: "imported"} for r in results if r.server == "a")
            assert not any(r.ok for r in results if r.server == "b")
            alert = await status.get_alert(app.db, key)
            assert alert is not None
            assert alert.resolved_at is None
            await rig_b.server.start()
            for _ in range(20):  # the source may still be in its (short, real-time) reconnect backoff
                await asyncio.sleep(0.1)
                clock.advance(3)
                result = await app.pollers["b"].poll()
                if R1 in result.states:
                    break
            assert result.states == {R1: "imported"}
            await app.pollers["b"].poll()
            alert = await status.get_alert(app.db, key)
            assert alert is not None
            assert alert.resolved_at is not None
            posts = await outbox.due(app.db, now=1e12, limit=100)
            kinds = [p.kind for p in posts if key in str(p.payload)]
            assert kinds == ["alert", "alert_resolved"]
            statuses = await status.server_statuses(app.db)
            assert {s.server: s.consecutive_failures for s in statuses} == {"a": 0, "b": 0}
        finally:
            await app.close()


async def test_empty_listing_purges_nothing(tmp_path: Path, samples_dir: Path) -> None:
    async with sftp_rig(tmp_path) as rig:
        for name in (S1, S2):
            rig.write(name, sample(samples_dir, name), mtime=1_760_000_000)
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        try:
            assert set(await settle_cycle(app, clock)) == {S1, S2}
            for name in (S1, S2):
                (rig.stats_dir / name).unlink()
            for _ in range(3):
                clock.advance(3)
                result = await app.pollers["main"].poll()
                assert (result.ok, result.listed, result.entries) == (True, True, 0)
            assert app.db is not None
            rows = await dbfiles.get_rows(app.db, "main", [S1, S2])
            assert {r.state for r in rows.values()} == {"imported"}
            for name in (S1, S2):  # the files come back: nothing is imported again
                rig.write(name, sample(samples_dir, name), mtime=1_760_000_000)
            assert await settle_cycle(app, clock) == {}
            assert len(await rounds_by_file(app)) == 2
        finally:
            await app.close()


async def test_between_listings_only_settling_files_are_stat(tmp_path: Path, samples_dir: Path) -> None:
    data = sample(samples_dir, S1)
    async with sftp_rig(tmp_path) as rig:
        path = rig.write(S1, data[:200], mtime=1_760_000_000)
        os.utime(rig.stats_dir, (1_760_000_000, 1_760_000_000))
        clock = Clock()
        app = await open_app(tmp_path, rig, clock, full_listing_seconds=300)
        poller = app.pollers["main"]
        try:
            assert (await poller.poll()).listed  # first sight of the directory
            with path.open("ab") as handle:
                handle.write(data[200:])  # growing does not change the directory's mtime
            clock.advance(1.5)
            assert (await poller.poll()).listed  # the confirming listing, a second later
            clock.advance(3)
            result = await poller.poll()
            assert not result.listed  # directory unchanged: the settling file alone was stat'ed
            assert result.states == {S1: "imported"}
            # a file added without changing the directory mtime is found by the periodic full listing
            rig.write(S2, sample(samples_dir, S2))
            os.utime(rig.stats_dir, (1_760_000_000, 1_760_000_000))
            clock.advance(3)
            assert not (await poller.poll()).listed
            clock.advance(300)
            assert (await poller.poll()).listed
            clock.advance(3)
            assert (await poller.poll()).states == {S2: "imported"}
        finally:
            await app.close()


async def test_journey_is_recorded_seen_downloaded_imported(tmp_path: Path, samples_dir: Path) -> None:
    async with sftp_rig(tmp_path) as rig:
        rig.write(S1, sample(samples_dir, S1))
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        try:
            assert await settle_cycle(app, clock) == {S1: "imported"}
            assert app.db is not None
            events = [e.event for e in await dbfiles.events_for(app.db, "main", S1)]
            assert events[:2] == ["seen", "downloaded"]
            assert events.count("imported") == 1
        finally:
            await app.close()


async def test_file_changed_during_download_is_discarded_then_imported_settled(
    tmp_path: Path, samples_dir: Path
) -> None:
    data = sample(samples_dir, R1)
    async with sftp_rig(tmp_path) as rig:
        path = rig.write(R1, data[:400], mtime=1_760_000_000)

        def grow_once(_path: bytes, offset: int) -> None:
            if offset == 0 and path.stat().st_size < len(data):
                with path.open("ab") as handle:  # the game server writes while we download
                    handle.write(data[400:])

        rig.faults.before_read = grow_once
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        try:
            with capture_logs() as logs:
                assert await settle_cycle(app, clock) == {}  # fetched, but it changed under the transfer
            assert any(e["event"] == "file_changed_during_download" for e in logs)
            assert not list((tmp_path / "local_stats").rglob("*.part"))
            clock.advance(3)
            assert await settle_cycle(app, clock) == {R1: "imported"}
            assert app.db is not None
            row = (await dbfiles.get_rows(app.db, "main", [R1]))[R1]
            assert row.sha256 == hashlib.sha256(data).hexdigest()
        finally:
            await app.close()


async def test_too_large_file_is_quarantined_not_retried_every_poll(
    tmp_path: Path, samples_dir: Path
) -> None:
    async with sftp_rig(tmp_path) as rig:
        rig.write(R1, sample(samples_dir, R1))  # > 2 KB
        rig.write(S1, sample(samples_dir, S1)[:900])  # under the limit: fetched (a cut file, retried later)
        clock = Clock()
        settings = daemon_settings(tmp_path, [server_values("main", rig)], ingest={"max_file_bytes": 1024})
        app = make_app(settings, clock)
        await app.open()
        try:
            assert await settle_cycle(app, clock) == {S1: "failed"}
            for _ in range(3):
                clock.advance(3)
                assert (await app.pollers["main"].poll()).ok  # a refused file never fails the server
            assert app.db is not None
            row = (await dbfiles.get_rows(app.db, "main", [R1]))[R1]
            assert row.state == "quarantined"
            assert row.last_error is not None
            assert "limit" in row.last_error
            assert sorted(os.listdir(tmp_path / "local_stats" / "main")) == [S1]
        finally:
            await app.close()


async def test_quarantined_file_is_imported_once_the_remote_is_fixed(
    tmp_path: Path, samples_dir: Path
) -> None:
    good = sample(samples_dir, R1)
    async with sftp_rig(tmp_path) as rig:
        rig.write(R1, corrupt(good), mtime=1_760_000_000)
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        try:
            assert await settle_cycle(app, clock) == {R1: "quarantined"}
            clock.advance(3)
            assert await settle_cycle(app, clock) == {}  # unchanged: not looked at again
            rig.write(R1, good, mtime=1_760_000_100)  # the admin fixed the file on the server
            clock.advance(3)
            assert await settle_cycle(app, clock) == {R1: "imported"}
            assert (await rounds_by_file(app))[R1].sha256 == hashlib.sha256(good).hexdigest()
        finally:
            await app.close()


async def test_downloaded_but_not_imported_is_imported_from_the_local_copy(
    tmp_path: Path, samples_dir: Path
) -> None:
    # The state a crash between download and import leaves behind: row 'downloaded' + the local copy.
    data = sample(samples_dir, S1)
    async with sftp_rig(tmp_path) as rig:
        rig.write(S1, data, mtime=1_760_000_000)
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        assert app.db is not None
        # Written after the start: a local copy beside an empty database is refused at start (the
        # database that imported it is gone, bot/db/continuity.py).
        (tmp_path / "local_stats" / "main" / S1).write_bytes(data)
        try:
            async with app.db.transaction() as tx:
                await dbfiles.set_state(
                    tx, "main", S1, "downloaded", now=1.0, size=len(data), mtime=1_760_000_000,
                    sha256=hashlib.sha256(data).hexdigest(),
                )  # fmt: skip
            result = await app.pollers["main"].poll()
            assert result.states == {S1: "imported"}  # first cycle: no settle wait, no download
            assert result.downloaded == 0
            assert rig.faults.reads == 0
        finally:
            await app.close()
