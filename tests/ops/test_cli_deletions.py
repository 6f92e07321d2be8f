"""Through the real CLI against the real SFTP server: files deleted on the server, the daemon's layer-4
repair, retention's preview against its act, and local copies rebuilt from the stored content."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.ops import EVENING, LATER, World, cli, daemon_imported, sql

RETENTION = "\n[retention]\nremote_delete_days = 1\nremote_batch = {batch}\n"


def _db(world: World) -> Path | str:
    return world.settings.db_target


def _row(world: World, columns: str, name: str) -> tuple[Any, ...]:
    [row] = sql(_db(world), f"SELECT {columns} FROM processed_files WHERE filename = ?", (name,))
    return row


async def test_files_deleted_on_the_server_are_reported_recorded_and_cleared(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await daemon_imported(world, tmp_path, EVENING + LATER)
    gone = EVENING[:5]
    for name in gone:
        (world.rig.stats_dir / name).unlink()
    capsys.readouterr()

    assert await cli(["--config", cfg, "diagnose"]) == 1
    out = capsys.readouterr().out
    assert "all four locations agree" not in out
    assert "! imported, gone from the server" in out
    assert "5 files imported, then deleted from the server by someone else than retention, 2025-10-02" in out
    assert await cli(["--config", cfg, "diagnose", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)["servers"][0]
    assert report["counts"]["remote"] == 7
    [diff] = report["differences"]
    assert (diff["kind"], diff["count"], diff["matters"]) == ("gone_from_server", 5, True)
    assert diff["files"] == sorted(gone)

    # The daemon's next full listing records the deletions, in the registry and in each file's history.
    assert await cli(["--config", cfg, "once"]) == 0
    rows = sql(
        _db(world), "SELECT filename, remote_gone_by FROM processed_files WHERE remote_gone_at IS NOT NULL"
    )
    assert sorted(rows) == [(n, "server") for n in sorted(gone)]
    assert sql(_db(world), "SELECT count(*) FROM file_events WHERE event = 'remote_gone'") == [(5,)]
    capsys.readouterr()
    assert await cli(["--config", cfg, "diagnose", "--no-remote"]) == 1  # known without asking the server
    assert "! imported, gone from the server" in capsys.readouterr().out
    assert await cli(["--config", cfg, "explain", gone[0]]) == 0
    out = capsys.readouterr().out
    assert "remote_gone" in out
    assert "(deleted by someone else than retention)" in out

    # One comes back: the mark is cleared. The others are accepted as intended by registry repair.
    world.put_remote([gone[0]])
    assert await cli(["--config", cfg, "once"]) == 0
    assert len(sql(_db(world), "SELECT 1 FROM processed_files WHERE remote_gone_at IS NOT NULL")) == 4
    assert sql(_db(world), "SELECT count(*) FROM file_events WHERE event = 'remote_back'") == [(1,)]
    capsys.readouterr()
    assert await cli(["--config", cfg, "registry", "repair", "--apply"]) == 0
    out = capsys.readouterr().out
    assert out.count("record the deletion on the server as intended") == 4
    assert "statsbot sync" not in out  # nothing was forgotten: nothing for sync to import
    assert await cli(["--config", cfg, "diagnose"]) == 0
    out = capsys.readouterr().out
    assert "imported, deleted from the server on purpose" in out
    assert "all four locations agree" not in out


async def test_an_empty_listing_records_no_deletion(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await daemon_imported(world, tmp_path, EVENING)
    for name in EVENING:
        (world.rig.stats_dir / name).unlink()
    assert await cli(["--config", cfg, "once"]) == 0
    assert sql(_db(world), "SELECT count(*) FROM processed_files WHERE remote_gone_at IS NOT NULL") == [(0,)]
    capsys.readouterr()
    assert await cli(["--config", cfg, "diagnose"]) == 1
    out = capsys.readouterr().out
    assert "remote folder empty" in out
    assert "servers[0].remote_dir" in out
    assert "gone from the server" not in out  # an empty folder is a wrong remote_dir, not 8 deletions


async def test_layer4_repair_writes_complete_rows_and_a_changed_file_is_not_done(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await daemon_imported(world, tmp_path, EVENING, extra=RETENTION.format(batch=100))
    same, changed = EVENING[0], EVENING[1]
    for name in (same, changed):
        sql(_db(world), "DELETE FROM processed_files WHERE filename = ?", (name,))
        (world.local_dir / name).unlink()
    server_copy = world.rig.stats_dir / changed
    server_copy.write_bytes(server_copy.read_bytes() + b"appended later\n")

    assert await cli(["--config", cfg, "once"]) == 0
    listed = world.rig.stats_dir / same
    sha = hashlib.sha256(listed.read_bytes()).hexdigest()
    st = listed.stat()
    assert sql(
        _db(world), "SELECT state, size, mtime, sha256 FROM processed_files WHERE filename = ?", (same,)
    ) == [("imported", st.st_size, int(st.st_mtime), sha)]
    # The changed file went down the changed-file path: the round is kept, the new version quarantined.
    [(state, error)] = sql(
        _db(world), "SELECT state, last_error FROM processed_files WHERE filename = ?", (changed,)
    )
    assert state == "quarantined"
    assert "content changed after import" in error
    assert sql(_db(world), "SELECT count(*) FROM rounds WHERE filename = ?", (changed,)) == [(1,)]
    capsys.readouterr()
    assert await cli(["--config", cfg, "diagnose"]) == 1
    assert changed in capsys.readouterr().out

    # Retention never deletes the changed file, nor one whose mtime moved since import.
    touched = world.rig.stats_dir / EVENING[2]
    os.utime(touched, (st.st_mtime + 999, st.st_mtime + 999))
    assert await cli(["--config", cfg, "retention", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"main/{EVENING[2]}: delete_remote skipped (changed since import: mtime" in out
    assert f"main/{changed}: delete_remote" not in out or f"main/{changed}: delete_remote would" not in out
    assert await cli(["--config", cfg, "retention"]) == 0
    assert server_copy.exists()
    assert touched.exists()
    assert not listed.exists()


async def test_retention_preview_is_exactly_the_act_with_a_batch(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await daemon_imported(world, tmp_path, EVENING + LATER, extra=RETENTION.format(batch=5))
    capsys.readouterr()
    assert await cli(["--config", cfg, "retention", "--dry-run"]) == 0
    preview = capsys.readouterr().out
    would = sorted(
        line.split(": ")[0].removeprefix("main/")
        for line in preview.splitlines()
        if line.endswith(": delete_remote would")
    )
    assert len(would) == 5
    assert "would compress 0, delete_local 0, delete_remote 5" in preview
    assert await cli(["--config", cfg, "retention"]) == 0
    act = capsys.readouterr().out
    assert "delete_remote 5" in act
    # The act lists each file like its preview: the same selection, the same lines, in the past tense.
    assert act.splitlines()[:-1] == [line.replace(" would", " done") for line in preview.splitlines()[:-1]]
    assert (
        sorted(
            line.split(": ")[0].removeprefix("main/")
            for line in act.splitlines()
            if line.endswith(": delete_remote done")
        )
        == would
    )
    assert sorted(n for n in EVENING + LATER if not (world.rig.stats_dir / n).exists()) == would
    events = sql(_db(world), "SELECT filename, at FROM file_events WHERE event = 'retention_delete_remote'")
    assert sorted(n for n, _ in events) == would
    assert len({at for _, at in events}) == 5  # written per file as it happened, not once for the batch
    rows = sql(_db(world), "SELECT filename FROM processed_files WHERE remote_gone_by = 'retention'")
    assert sorted(n for (n,) in rows) == would
    assert await cli(["--config", cfg, "diagnose"]) == 0  # retention's own deletions are harmless
    assert "5 files imported, then deleted from the server on purpose" in capsys.readouterr().out


async def test_restore_local_rebuilds_copies_from_the_stored_content(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await daemon_imported(world, tmp_path, EVENING)
    original = (world.local_dir / EVENING[0]).read_bytes()
    for name in EVENING[:2]:
        (world.local_dir / name).unlink()
    (world.rig.stats_dir / EVENING[0]).unlink()  # no longer on the server: only the database has it
    capsys.readouterr()
    assert await cli(["--config", cfg, "sync", "--restore-local", "--dry-run"]) == 0
    preview = capsys.readouterr().out
    assert f"main/{EVENING[0]}: restore_local → would restore (from the stored content)" in preview
    assert f"main/{EVENING[1]}: restore_local → would restore (from the server)" in preview
    assert await cli(["--config", cfg, "sync", "--restore-local"]) == 0
    out = capsys.readouterr().out
    assert f"main/{EVENING[0]}: restore_local → restored (from the stored content, sha256 verified)" in out
    assert (world.local_dir / EVENING[0]).read_bytes() == original
    assert (world.local_dir / EVENING[1]).exists()
    [(detail,)] = sql(
        _db(world),
        "SELECT detail FROM file_events WHERE event = 'local_restored' AND filename = ?",
        (EVENING[0],),
    )
    assert json.loads(detail)["via"] == "sync (stored content)"
    assert sql(_db(world), "SELECT count(*) FROM rounds") == [(8,)]  # nothing imported again


async def test_mirror_remote_deletions_removes_local_copies_never_rounds(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await daemon_imported(
        world, tmp_path, EVENING, extra="\n[retention]\nmirror_remote_deletions = true\n"
    )
    for name in EVENING[:3]:
        (world.rig.stats_dir / name).unlink()
    capsys.readouterr()
    assert await cli(["--config", cfg, "retention", "--dry-run"]) == 0  # not recorded yet: nothing to mirror
    assert "delete_local 0" in capsys.readouterr().out
    assert await cli(["--config", cfg, "once"]) == 0  # the daemon's listing records the deletions
    assert await cli(["--config", cfg, "retention", "--dry-run"]) == 0
    preview = capsys.readouterr().out
    assert preview.count("delete_local would (gone from the server (server)") == 3
    assert await cli(["--config", cfg, "retention"]) == 0
    assert "delete_local 3" in capsys.readouterr().out
    assert sorted(p.name for p in world.local_dir.iterdir()) == sorted(EVENING[3:])
    assert sql(_db(world), "SELECT count(*) FROM rounds") == [(8,)]  # history is never deleted
    events = sql(_db(world), "SELECT filename FROM file_events WHERE event = 'retention_delete_local'")
    assert sorted(n for (n,) in events) == sorted(EVENING[:3])


async def test_rows_an_older_repair_left_incomplete_are_found_and_completed(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await daemon_imported(world, tmp_path, EVENING, extra=RETENTION.format(batch=100))
    changed, kept = EVENING[0], EVENING[1]
    for name in (changed, kept):  # what the layer-4 repair of older versions wrote
        sql(_db(world), "UPDATE processed_files SET size = NULL, mtime = NULL WHERE filename = ?", (name,))
    server_copy = world.rig.stats_dir / changed
    imported_size = server_copy.stat().st_size
    server_copy.write_bytes(server_copy.read_bytes() + b"appended later\n")
    capsys.readouterr()
    assert await cli(["--config", cfg, "diagnose"]) == 1
    out = capsys.readouterr().out
    assert "! changed on the server after import" in out
    assert f"imported size {imported_size} mtime None, server now size {imported_size + 15}" in out
    assert await cli(["--config", cfg, "retention", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"main/{kept}: delete_remote skipped (the registry has no size/mtime of the import" in out
    assert f"main/{changed}: delete_remote would" not in out
    assert await cli(["--config", cfg, "registry", "repair", "--apply"]) == 0
    st = (world.rig.stats_dir / kept).stat()
    assert _row(world, "size, mtime", kept) == (st.st_size, int(st.st_mtime))  # complete again
    # the changed file: the imported size; the server's mtime is not the import's, so none is made up
    assert _row(world, "size, mtime", changed) == (imported_size, None)
    assert await cli(["--config", cfg, "retention"]) == 0
    assert server_copy.exists()
    assert not (world.rig.stats_dir / kept).exists()
