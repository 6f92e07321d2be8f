"""Poller faults: a failed listing is retried every cycle; one file's unexpected error spares the others."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from bot.app import App
from bot.db import files as dbfiles
from tests.helpers.daemon import Clock, daemon_settings, make_app, server_values
from tests.helpers.engines import add_failing_trigger, drop_trigger
from tests.helpers.sftp import sftp_rig

pytestmark = pytest.mark.usefixtures("daemon_store")  # on SQLite and on PostgreSQL

R1 = "2025-10-02-232339-erdenberg_t2-round-1.txt"
R2 = "2025-10-02-232818-erdenberg_t2-round-2.txt"
S1 = "2025-10-02-213333-supply-round-1.txt"


async def _settle(app: App, clock: Clock) -> dict[str, str]:
    first = await app.pollers["main"].poll()
    clock.advance(3)
    second = await app.pollers["main"].poll()
    return {**first.states, **second.states}


async def test_a_failed_listing_is_retried_every_cycle_until_it_succeeds(
    tmp_path: Path, samples_dir: Path
) -> None:
    async with sftp_rig(tmp_path) as rig:
        rig.write(R1, (samples_dir / R1).read_bytes())
        clock = Clock()
        values = server_values("main", rig, full_listing_seconds=3600, operation_timeout_seconds=0.5)
        app = make_app(daemon_settings(tmp_path, [values]), clock)
        await app.open()
        try:
            assert await _settle(app, clock) == {R1: "imported"}
            clock.advance(3)
            await app.pollers["main"].poll()  # the 1-second confirm listing is spent
            # The folder becomes unreadable while a new file lands in it.
            rig.faults.stall_listing = True
            rig.write(R2, (samples_dir / R2).read_bytes())
            os.utime(rig.stats_dir, (os.stat(rig.stats_dir).st_mtime + 10,) * 2)
            for _ in range(3):
                clock.advance(3)
                failed = await app.pollers["main"].poll()
                assert not failed.ok  # every cycle tries the listing again and says so
                await asyncio.sleep(1.2)  # the source's own reconnect backoff (real time)
            rig.faults.stall_listing = False
            rig.faults.release()
            await asyncio.sleep(1.2)
            clock.advance(3)
            back = await app.pollers["main"].poll()
            assert back.ok
            assert back.listed  # listed although the folder's mtime did not change since the failures
            clock.advance(3)
            assert (await app.pollers["main"].poll()).states == {R2: "imported"}
        finally:
            await app.close()


async def test_one_files_unexpected_error_fails_that_file_and_the_others_import(
    tmp_path: Path, samples_dir: Path
) -> None:
    async with sftp_rig(tmp_path) as rig:
        for name in (S1, R1):
            rig.write(name, (samples_dir / name).read_bytes())
        clock = Clock()
        app = make_app(daemon_settings(tmp_path, [server_values("main", rig)]), clock)
        await app.open()
        try:
            assert app.db is not None
            # A database fault that only this file meets (the shape an orphan-row collision takes).
            await add_failing_trigger(
                app.db, "boom", "rounds", "simulated constraint failure", when=f"NEW.filename = '{S1}'"
            )
            states = await _settle(app, clock)
            assert states == {S1: "failed", R1: "imported"}
            row = await dbfiles.get_row(app.db, "main", S1)
            assert row is not None
            assert row.state == "failed"
            assert row.last_error is not None
            assert "simulated constraint failure" in row.last_error
            assert row.next_attempt_at is not None
        finally:
            await app.close()


async def test_a_listing_whose_rows_were_not_recorded_is_made_again_once_the_database_works(
    tmp_path: Path, samples_dir: Path
) -> None:
    # A full database disk: the listing succeeds, recording its new rows fails. The folder's mtime does
    # not change again, so the next cycles must still list it, not wait for the next full listing.
    async with sftp_rig(tmp_path) as rig:
        rig.write(R1, (samples_dir / R1).read_bytes())
        clock = Clock()
        values = server_values("main", rig, full_listing_seconds=3600)
        app = make_app(daemon_settings(tmp_path, [values]), clock)
        await app.open()
        try:
            assert app.db is not None
            assert await _settle(app, clock) == {R1: "imported"}
            clock.advance(3)
            await app.pollers["main"].poll()  # the 1-second confirm listing is spent
            await add_failing_trigger(app.db, "disk_full", "processed_files", "database or disk is full")
            rig.write(S1, (samples_dir / S1).read_bytes())
            os.utime(rig.stats_dir, (os.stat(rig.stats_dir).st_mtime + 10,) * 2)
            for _ in range(2):  # the change listing and its confirm listing both fail to record
                clock.advance(3)
                assert not (await app.pollers["main"].poll()).ok
            await drop_trigger(app.db, "disk_full", "processed_files")
            clock.advance(3)
            back = await app.pollers["main"].poll()
            assert back.ok
            assert back.listed  # listed again although the folder's mtime did not change since
            clock.advance(3)
            assert (await app.pollers["main"].poll()).states == {S1: "imported"}
        finally:
            await app.close()


async def test_a_crash_importing_a_new_version_of_an_imported_file_quarantines_it_and_the_cycle_goes_on(
    tmp_path: Path, samples_dir: Path
) -> None:
    # The new version's local copy is already there (a crash after its download, before the cycle
    # recorded it), so the file is still `imported` when its import crashes. `failed` is not a state an
    # imported file may take (its round is kept); the crash must still be recorded, not fail the cycle.
    async with sftp_rig(tmp_path) as rig:
        for name in (S1, R1):
            rig.write(name, (samples_dir / name).read_bytes())
        clock = Clock()
        values = server_values("main", rig, full_listing_seconds=3600)
        app = make_app(daemon_settings(tmp_path, [values]), clock)
        await app.open()
        try:
            assert app.db is not None
            assert await _settle(app, clock) == {S1: "imported", R1: "imported"}
            clock.advance(3)
            await app.pollers["main"].poll()  # the 1-second confirm listing is spent
            # the importer's own verdict on the new version cannot be written
            await add_failing_trigger(
                app.db, "boom", "file_events", "simulated failure",
                when=f"NEW.filename = '{S1}' AND NEW.detail LIKE '%content changed%'",
            )  # fmt: skip
            changed = (samples_dir / S1).read_bytes() + b"\n"
            rig.write(S1, changed)
            (tmp_path / "local_stats" / "main" / S1).write_bytes(changed)
            os.utime(rig.stats_dir, (os.stat(rig.stats_dir).st_mtime + 10,) * 2)
            states: dict[str, str] = {}
            for _ in range(3):
                clock.advance(3)
                cycle = await app.pollers["main"].poll()
                assert cycle.ok
                states.update(cycle.states)
            assert states == {S1: "quarantined"}
            row = await dbfiles.get_row(app.db, "main", S1)
            assert row is not None
            assert row.state == "quarantined"
            assert row.last_error is not None
            assert "simulated failure" in row.last_error
            # the operator is told, as for any quarantine
            [(alerts,)] = await app.db.fetchall(
                "SELECT count(*) FROM outbox WHERE kind = 'alert' AND dedupe_key LIKE ?",
                (f"alert:quarantined:main:{S1}:%",),
            )
            assert alerts == 1
        finally:
            await app.close()
