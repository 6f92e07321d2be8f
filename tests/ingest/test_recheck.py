"""Early settle re-checks between cycles: only due files are stat'ed, the gate's rules still hold."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bot.app import App
from bot.factory import import_settings
from bot.ingest.importer import import_file
from bot.ingest.settle import SettleGate
from tests.helpers.counting_sftp import count_lstats
from tests.helpers.daemon import Clock, daemon_settings, make_app, server_values
from tests.helpers.sftp import SftpRig, sftp_rig

pytestmark = pytest.mark.usefixtures("daemon_store")  # on SQLite and on PostgreSQL

S1 = "2025-10-02-213333-supply-round-1.txt"
S2 = "2025-10-02-214239-supply-round-2.txt"
R1 = "2025-10-02-232339-erdenberg_t2-round-1.txt"


async def open_app(tmp_path: Path, rig: SftpRig, clock: Clock) -> App:
    app = make_app(daemon_settings(tmp_path, [server_values("main", rig, min_file_age_seconds=2)]), clock)
    await app.open()
    return app


def test_gate_reports_due_names_and_the_time_to_the_first() -> None:
    clock = Clock()
    gate = SettleGate(2.0, clock=clock)
    assert gate.next_due() is None
    assert gate.due() == []
    gate.observe("a", 10, 5)
    clock.advance(0.5)
    gate.observe("b", 10, 5)
    assert gate.next_due() == 1.5
    assert gate.due() == []
    clock.advance(1.5)
    assert gate.due() == ["a"]
    assert gate.next_due() == 0.0
    gate.observe("a", 11, 5)  # changed at this look: its quiet period starts again
    assert gate.due() == []
    assert gate.next_due() == 0.5  # now "b" comes first


async def test_recheck_stats_only_due_files_and_imports_them_once_settled(
    tmp_path: Path, samples_dir: Path
) -> None:
    async with sftp_rig(tmp_path) as rig:
        lstats = count_lstats(rig)
        rig.write(S1, (samples_dir / S1).read_bytes())
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        poller = app.pollers["main"]
        try:
            first = await poller.poll()
            assert first.listed
            assert first.settling == 1
            assert first.states == {}
            early = await poller.recheck()  # the quiet period has not passed: nothing is looked at
            assert early.ok
            assert early.states == {}
            assert early.settling == 1
            assert lstats[S1] == 0
            clock.advance(2)
            due = await poller.recheck()
            assert due.ok
            assert not due.listed
            assert due.states == {S1: "imported"}
            assert lstats[S1] >= 1  # the counter sees the source's stat (and the download's checks)
            assert len(poller.gate) == 0
            assert (await poller.recheck()).states == {}  # nothing left to look at
        finally:
            await app.close()


async def test_recheck_of_a_growing_file_restarts_its_quiet_period(tmp_path: Path, samples_dir: Path) -> None:
    data = (samples_dir / S2).read_bytes()
    async with sftp_rig(tmp_path) as rig:
        path = rig.write(S2, data[:300])
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        poller = app.pollers["main"]
        try:
            await poller.poll()
            with path.open("ab") as handle:
                handle.write(data[300:])
            clock.advance(2)
            grown = await poller.recheck()
            assert grown.states == {}
            assert grown.downloaded == 0
            assert poller.gate.due() == []
            assert poller.gate.next_due() == 2.0  # a full quiet period again from this look
            clock.advance(2)
            assert (await poller.recheck()).states == {S2: "imported"}
        finally:
            await app.close()


async def test_recheck_forgets_a_vanished_file(tmp_path: Path, samples_dir: Path) -> None:
    async with sftp_rig(tmp_path) as rig:
        gone = rig.write(R1, (samples_dir / R1).read_bytes())
        rig.write(S1, (samples_dir / S1).read_bytes())
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        poller = app.pollers["main"]
        try:
            await poller.poll()
            gone.unlink()
            clock.advance(2)
            result = await poller.recheck()
            assert result.ok
            assert result.states == {S1: "imported"}
            assert R1 not in poller.gate
            assert len(poller.gate) == 0
        finally:
            await app.close()


async def test_a_stopped_poller_rechecks_nothing(tmp_path: Path, samples_dir: Path) -> None:
    async with sftp_rig(tmp_path) as rig:
        lstats = count_lstats(rig)
        rig.write(S1, (samples_dir / S1).read_bytes())
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        poller = app.pollers["main"]
        try:
            await poller.poll()
            clock.advance(2)
            poller.stop()
            result = await poller.recheck()
            assert result.states == {}
            assert result.settling == 1
            assert lstats[S1] == 0
        finally:
            await app.close()


async def test_a_file_done_elsewhere_leaves_the_gate_at_its_recheck(
    tmp_path: Path, samples_dir: Path
) -> None:
    data = (samples_dir / S1).read_bytes()
    async with sftp_rig(tmp_path) as rig:
        lstats = count_lstats(rig)
        path = rig.write(S1, data)
        clock = Clock()
        app = await open_app(tmp_path, rig, clock)
        poller = app.pollers["main"]
        try:
            await poller.poll()
            assert app.db is not None
            mtime = int(path.stat().st_mtime)
            # Another process (`statsbot import`, `sync`) imports the same file meanwhile.
            await import_file(
                app.db, server="main", filename=S1, size=len(data), mtime=mtime, data=data,
                sha256=hashlib.sha256(data).hexdigest(), settings=import_settings(app.settings), now=1.0,
            )  # fmt: skip
            clock.advance(2)
            result = await poller.recheck()
            assert result.states == {}  # not imported twice
            assert len(poller.gate) == 0  # no longer settling: never looked at again
            looks = lstats[S1]
            clock.advance(2)
            await poller.recheck()
            assert lstats[S1] == looks
        finally:
            await app.close()
