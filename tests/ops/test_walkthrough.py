"""What an operator walkthrough found: backups, mtime-only drift, unknown/empty remotes, explain, wording."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

import asyncssh

from bot.db import status
from bot.ops.dbtools import backup_database, list_backups
from bot.ops.diagnose import DiagnoseReport, diagnose
from bot.ops.drift import (
    Kind,
    LocalFile,
    RegistryEntry,
    RemoteFile,
    RoundEntry,
    ServerReport,
    ServerSnapshot,
    compare,
)
from bot.ops.explain import explain, render_journey
from bot.ops.report import render_text
from bot.ops.reprocess import Target, reprocess_one
from bot.ops.retention import run_retention
from tests.helpers.engines import SQLITE_ONLY
from tests.helpers.ops import BASE_MTIME, EVENING, World, make_settings

A = "2024-03-24-210000-supply-round-1.txt"
B = "2024-05-01-210500-supply-round-2.txt"


def _imported(names: list[str], remote: dict[str, RemoteFile] | None) -> ServerSnapshot:
    return ServerSnapshot(
        server="main",
        remote=remote,
        local={n: LocalFile(n, 100) for n in names},
        registry={
            n: RegistryEntry(n, "imported", 100, 1000, f"sha-{n}", round_id=i) for i, n in enumerate(names)
        },
        rounds={n: RoundEntry(i, n, f"sha-{n}") for i, n in enumerate(names)},
    )


@SQLITE_ONLY
async def test_backup_is_one_file_and_rotation_removes_companions(world: World, tmp_path: Path) -> None:
    world.put_remote(EVENING)
    await world.import_(EVENING)
    folder = tmp_path / "backups"
    first = await backup_database(world.db, folder, keep=2, now=dt.datetime(2026, 1, 1, 0, tzinfo=dt.UTC))
    assert sorted(p.name for p in folder.iterdir()) == [first.name]  # no -wal / -shm beside it
    assert first.read_bytes()[18:20] == b"\x01\x01"  # rollback journal: opening it creates no companions
    # companions an older version left behind, one of them without its backup
    for suffix in ("-wal", "-shm"):
        (folder / f"{first.name}{suffix}").write_bytes(b"")
        (folder / f"statsbot-20251231T000000Z.db{suffix}").write_bytes(b"")
    made = [
        await backup_database(world.db, folder, keep=2, now=dt.datetime(2026, 1, 1, h, tzinfo=dt.UTC))
        for h in (1, 2)
    ]
    assert list_backups(folder) == made
    assert sorted(p.name for p in folder.iterdir()) == [p.name for p in made]
    conn = sqlite3.connect(made[-1])
    try:
        assert conn.execute("SELECT count(*) FROM rounds").fetchone()[0] == 8
    finally:
        conn.close()
    assert sorted(p.name for p in folder.iterdir()) == [p.name for p in made]


def test_mtime_only_difference_is_harmless_a_size_change_is_not() -> None:
    touched = compare(_imported([A, B], {A: RemoteFile(A, 100, 5000), B: RemoteFile(B, 100, 1000)}))
    assert [d.kind for d in touched.differences] == [Kind.MTIME_ONLY]
    diff = touched.difference(Kind.MTIME_ONLY)
    assert diff is not None
    assert diff.files == (A,)
    assert not diff.matters
    assert "harmless" in diff.recommendation
    assert touched.healthy
    assert "! " not in render_text_of(touched)

    grown = compare(_imported([A, B], {A: RemoteFile(A, 120, 5000), B: RemoteFile(B, 100, 1000)}))
    assert [d.kind for d in grown.differences] == [Kind.CHANGED_AFTER_IMPORT]
    assert not grown.healthy


def render_text_of(report: ServerReport) -> str:
    return render_text(DiagnoseReport(0.0, (report,)))


async def test_backfilled_copies_with_new_mtimes_are_not_alarmed_on(world: World) -> None:
    world.put_remote(EVENING)
    world.put_local(EVENING)
    await world.import_(EVENING)
    for name in EVENING:  # copied back from a backup: same bytes, new mtime
        os.utime(world.rig.stats_dir / name, (BASE_MTIME + 9999, BASE_MTIME + 9999))
    report = await diagnose(world.db, world.settings, source_factory=world.factory())
    rep = report.servers[0]
    assert [d.kind for d in rep.differences] == [Kind.MTIME_ONLY]
    text = render_text(report)
    assert "changed on the server after import" not in text
    assert "overall: OK" in text


async def test_unknown_remote_is_a_marked_line_with_the_last_poll_error(world: World) -> None:
    world.put_remote(EVENING[:2])
    world.put_local(EVENING[:2])
    await world.import_(EVENING[:2])
    port = world.settings.servers[0].port
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
    Path(world.settings.servers[0].known_hosts).write_text(f"[127.0.0.1]:{port} {other}\n")
    async with world.db.transaction() as tx:
        await status.record_poll_failure(
            tx, "main", now=1000.0, error="host key of 127.0.0.1 is unknown or changed", seconds=0.1
        )
    report = await diagnose(world.db, world.settings, source_factory=world.factory())
    rep = report.servers[0]
    assert not rep.reachable
    diff = rep.difference(Kind.REMOTE_UNREACHABLE)
    assert diff is not None
    assert diff.matters
    assert f"ssh-keyscan -p {port} 127.0.0.1" in diff.recommendation
    assert "compare the fingerprint" in diff.recommendation
    assert "the daemon's last poll failed too: host key of 127.0.0.1 is unknown" in diff.recommendation
    text = render_text(report)
    assert "no differences" not in text
    assert "  ! server unreachable: remote unknown" in text
    assert "overall: ATTENTION" in text

    # not asked (--no-remote): said, harmless, and the verdict follows the lines shown
    skipped = await diagnose(world.db, world.settings, remote=False)
    text = render_text(skipped)
    assert [d.kind for d in skipped.servers[0].differences] == [Kind.REMOTE_NOT_CHECKED]
    assert "!" not in text.replace("(lines marked ! need action)", "")
    assert "overall: OK" in text


async def test_emptied_remote_folder_is_a_marked_difference(world: World) -> None:
    world.put_remote(EVENING)
    await world.import_(EVENING)
    for name in EVENING:
        (world.rig.stats_dir / name).unlink()
    report = await diagnose(world.db, world.settings, source_factory=world.factory())
    diff = report.servers[0].difference(Kind.REMOTE_EMPTY)
    assert diff is not None
    assert diff.matters
    assert "remote folder empty but 8 files imported — wrong remote_dir, or cleaned by hand?" in (
        diff.recommendation
    )
    assert "  ! remote folder empty" in render_text(report)
    assert not report.healthy


async def test_explain_lists_only_the_files_own_posts_each_labelled(world: World) -> None:
    r1, r2 = EVENING[:2]
    world.put_remote(EVENING[:2])
    await world.import_(EVENING[:2])
    [j1] = await explain(world.db, world.settings.paths.local_stats, r1, "main")
    [j2] = await explain(world.db, world.settings.paths.local_stats, r2, "main")
    assert [(p.kind, p.subject) for p in j1.posts] == [("round", r1), ("match", f"match {r1} + {r2}")]
    assert [(p.kind, p.subject) for p in j2.posts] == [("round", r2), ("match", f"match {r1} + {r2}")]
    text = render_journey(j1)
    assert f"round for {r1} → " in text
    assert f"round for {r2}" not in text


async def test_reprocess_messages_say_what_happened(world: World) -> None:
    name = EVENING[0]
    world.put_remote(EVENING[:1])
    await world.import_(EVENING[:1])
    world.local_dir.mkdir(parents=True, exist_ok=True)
    (world.local_dir / name).write_bytes(b"garbage\n")
    bad = await reprocess_one(world.db, world.settings, Target("main", name), source="local")
    assert not bad.ok
    line = bad.line()
    assert line.startswith(
        f"main/{name}: NOT reprocessed: the content does not import (it would be quarantined"
    )
    assert line.endswith("; nothing changed")

    fresh = EVENING[2]
    assert (await world.import_content(fresh, b"cut short\n"))["state"] == "quarantined"
    world.put_local([fresh])
    good = await reprocess_one(world.db, world.settings, Target("main", fresh), source="local")
    assert good.ok
    assert "#None" not in good.line()
    assert f"imported (round #{good.new_round_id}, new: there was no round before)" in good.line()


async def test_retention_dry_run_summary_counts_what_it_would_do(world: World) -> None:
    world.put_remote(EVENING)
    world.put_local(EVENING)
    await world.import_(EVENING)
    world.settings = make_settings(
        world.rig.root.parent, world.rig, retention={"local_days": 30, "local_action": "compress"}
    )
    now = dt.datetime(2025, 11, 10, 12, tzinfo=dt.UTC).timestamp()
    text = (await run_retention(world.db, world.settings, now=now, dry_run=True)).render()
    assert text.count("compress would") == 8
    assert text.rstrip().endswith(
        "retention (dry run, nothing changed): would compress 8, delete_local 0, delete_remote 0"
    )
    text = (await run_retention(world.db, world.settings, now=now)).render()
    assert text.rstrip().endswith("retention: compress 8, delete_local 0, delete_remote 0")
