"""Through the real CLI against the real SFTP server: the right cause, the right advice, consistent exit
codes (a corrupt database, a wrong remote_dir, hand edits, files imported from elsewhere)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.db import status
from bot.errors import RemoteDirMissing
from bot.ingest.poll_health import PollHealth
from bot.ingest.ssh_source import SshSource
from tests.helpers.engines import SQLITE_ONLY
from tests.helpers.ops import EVENING, LATER, World, cli, daemon_imported, sql, write_config


def _db(world: World) -> Path | str:
    return world.settings.db_target


@SQLITE_ONLY
async def test_a_database_moved_aside_is_named_with_the_restore_by_every_tool(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await daemon_imported(world, tmp_path, EVENING[:2])
    assert await cli(["--config", cfg, "db", "backup"]) == 0
    [backup] = sorted((tmp_path / "backups").glob("statsbot-*.db"))
    path = world.settings.paths.db_path
    with path.open("r+b") as f:  # garbage over the first pages: not a database any more
        f.write(b"garbage" * 2000)
    capsys.readouterr()
    assert await cli(["--config", cfg, "db", "check"]) == 1
    captured = capsys.readouterr()
    [moved] = [p for p in path.parent.iterdir() if ".corrupt-" in p.name and not p.name.endswith("-wal")]
    assert moved.name in captured.out + captured.err
    for command in (["diagnose"], ["health"], ["db", "check"], ["registry", "check"]):
        assert await cli(["--config", cfg, *command]) == 1, command
        said = capsys.readouterr().err
        assert "check --config and the working directory" not in said, command
        assert f"moved aside as corrupt to {moved}" in said, command
        assert f"`cp -p {backup} {path}`" in said, command
        assert "stop the daemon" in said, command
    assert not path.exists()  # no tool created an empty database in its place


async def test_a_wrong_remote_dir_names_the_config_key_not_the_network(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await daemon_imported(world, tmp_path, EVENING[:2])
    cfg = str(write_config(world, tmp_path / "wrong.toml", remote_dir="/gamestats-typo"))
    capsys.readouterr()
    assert await cli(["--config", cfg, "diagnose"]) == 1
    out = capsys.readouterr().out
    assert "remote folder not found" in out
    assert "fix `servers[0].remote_dir`" in out
    assert "/gamestats-typo does not exist there" in out
    assert "unreachable" not in out
    assert "is up and reachable" not in out
    assert await cli(["--config", cfg, "sync"]) == 1
    out = capsys.readouterr().out
    assert "remote folder not found" in out
    assert "servers[0].remote_dir" in out
    assert await cli(["--config", cfg, "once"]) == 1
    err = capsys.readouterr().err
    assert (
        f"statsbot once: main: the server 127.0.0.1:{world.rig.server.port} answered, but the folder "
        "/gamestats-typo does not exist there → fix `servers[0].remote_dir` in the config"
    ) in err
    assert "unreachable" not in err


async def test_a_hand_edited_registry_size_is_blamed_on_the_registry(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await daemon_imported(world, tmp_path, EVENING)
    edited = EVENING[2]
    size = (world.rig.stats_dir / edited).stat().st_size
    sql(_db(world), "UPDATE processed_files SET size = size + 10 WHERE filename = ?", (edited,))
    capsys.readouterr()
    assert await cli(["--config", cfg, "diagnose"]) == 1
    out = capsys.readouterr().out
    assert "changed on the server after import" not in out
    assert "round with no (or a wrong) registry row" in out
    assert f"registry size {size + 10} differs from the imported content's {size} bytes" in out
    assert await cli(["--config", cfg, "registry", "check"]) == 1
    assert await cli(["--config", cfg, "registry", "repair"]) == 1  # the dry run agrees with check
    assert await cli(["--config", cfg, "registry", "repair", "--apply"]) == 0
    out = capsys.readouterr().out
    assert "statsbot sync" not in out  # nothing was forgotten: no reason to suggest sync
    assert sql(_db(world), "SELECT size FROM processed_files WHERE filename = ?", (edited,)) == [(size,)]
    assert await cli(["--config", cfg, "diagnose"]) == 0
    assert "all four locations agree" in capsys.readouterr().out

    # A real change on the server is still the server's.
    server_copy = world.rig.stats_dir / edited
    server_copy.write_bytes(server_copy.read_bytes() + b"x\n")
    assert await cli(["--config", cfg, "diagnose"]) == 1
    out = capsys.readouterr().out
    assert "changed on the server after import" in out
    assert f"imported size {size} " in out


async def test_hand_set_states_are_listed_once_and_never_with_a_bare_question_mark(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await daemon_imported(world, tmp_path, EVENING)
    sql(
        _db(world),
        "UPDATE processed_files SET state = 'quarantined', last_error = NULL WHERE filename = ?",
        (EVENING[0],),
    )
    sql(
        _db(world),
        "UPDATE processed_files SET state = 'failed', last_error = '' WHERE filename = ?",
        (EVENING[1],),
    )
    stray = "2025-10-03-200000-supply-round-1.txt"  # a row with no round, its state set by hand
    sql(
        _db(world),
        "INSERT INTO processed_files(server, filename, state, first_seen_at, updated_at) "
        "VALUES ('main', ?, 'quarantined', 0, 0)",
        (stray,),
    )
    capsys.readouterr()
    assert await cli(["--config", cfg, "diagnose", "--json"]) == 1
    diffs = {d["kind"]: d for d in json.loads(capsys.readouterr().out)["servers"][0]["differences"]}
    assert sorted(diffs["round_without_registry"]["files"]) == sorted(EVENING[:2])
    assert diffs["quarantined"]["files"] == [stray]  # not EVENING[0] a second time
    assert "failed" not in diffs
    assert diffs["quarantined"]["errors"][stray] == "no error recorded (state set by hand?)"
    assert await cli(["--config", cfg, "diagnose"]) == 1
    out = capsys.readouterr().out
    assert "— ?" not in out
    assert out.count(EVENING[0]) == 1


async def test_registry_repair_suggests_sync_only_when_rows_were_forgotten(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await daemon_imported(world, tmp_path, EVENING)
    sql(_db(world), "DELETE FROM rounds WHERE filename = ?", (EVENING[7],))  # by hand: the data is gone
    capsys.readouterr()
    assert await cli(["--config", cfg, "registry", "check"]) == 1
    check = capsys.readouterr().out
    assert await cli(["--config", cfg, "registry", "repair"]) == 1
    dry = capsys.readouterr().out
    assert check == dry  # the same selection, the same lines
    assert await cli(["--config", cfg, "registry", "repair", "--apply"]) == 0
    assert "`statsbot sync` imports the 1 file(s) whose rows were forgotten" in capsys.readouterr().out


async def test_files_imported_from_a_folder_elsewhere_are_not_missing_or_gone(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await daemon_imported(world, tmp_path, EVENING)
    elsewhere = tmp_path / "old-archive"
    elsewhere.mkdir()
    for name in LATER:
        shutil.copyfile(world.samples / name, elsewhere / name)
    assert await cli(["--config", cfg, "import", "--no-posts", str(elsewhere)]) == 0
    capsys.readouterr()
    assert await cli(["--config", cfg, "diagnose"]) == 0
    out = capsys.readouterr().out
    assert "processed but missing locally" not in out
    assert "gone from the server" not in out
    assert "4 files imported with `statsbot import` from a folder, never on this server" in out
    assert "all four locations agree" not in out  # 8 on the server, 12 imported: the counts differ


async def test_the_daemons_alert_for_a_wrong_remote_dir_says_the_server_answered(world: World) -> None:
    source = SshSource(world.rig.params("main", remote_dir="/gamestats-typo"))
    try:
        with pytest.raises(RemoteDirMissing) as caught:
            await source.list()
    finally:
        await source.close()
    await PollHealth(world.db, "main", threshold=1).record(False, str(caught.value), None, 0.1, now=5.0)
    [alert] = await status.open_alerts(world.db)
    assert "answered" in alert.message
    assert "fix remote_dir of server main" in alert.message
    assert "unreachable" not in alert.message


async def test_diagnose_says_agree_only_when_the_counts_are_equal(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.rig.write("2025-10-03-200000-etl_adlernest-round-1.txt", (world.samples / EVENING[0]).read_bytes())
    cfg = await daemon_imported(world, tmp_path, EVENING)  # the copy under another name: a duplicate
    capsys.readouterr()
    assert await cli(["--config", cfg, "diagnose"]) == 0
    out = capsys.readouterr().out
    assert "         9               9           9         8" in out
    assert "all four locations agree" not in out
    assert "no difference needs action, but the counts differ (the registry also holds 1 duplicate" in out
