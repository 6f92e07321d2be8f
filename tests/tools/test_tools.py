"""The tool scripts and the ops CLI commands run for real: subprocesses, a TOML config, exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from bot.db import ops_queries
from tests.helpers.engines import NewStore
from tests.helpers.ops import EVENING, World, cli, empty_store_config, nothing_created, write_config

PROJECT = Path(__file__).resolve().parents[2]


async def run_tool(*argv: str) -> tuple[int, str, str]:
    """Run a command in a child process while this event loop keeps serving SFTP."""
    # No PYTHONPATH: `python tools/x.py` must find the project by itself, `-m` from the working directory.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        cwd=PROJECT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_diagnose_tool_as_module_and_as_script(world: World, tmp_path: Path) -> None:
    world.put_remote(EVENING)
    world.put_local(EVENING)
    await world.import_(EVENING)
    cfg = write_config(world, tmp_path / "statsbot.toml")
    code, out, err = await run_tool("-m", "tools.diagnose_file_sync", "--config", str(cfg), "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["servers"][0]["counts"]["rounds"] == 8
    assert doc["servers"][0]["counts"]["remote"] == 8

    (world.local_dir / EVENING[0]).unlink()
    world.rig.write(
        "2025-10-14-232828-etl_ice-round-1.txt",
        (world.samples / "2025-10-14-232828-etl_ice-round-1.txt").read_bytes(),
    )
    code, out, err = await run_tool("tools/diagnose_file_sync.py", "--config", str(cfg))
    assert code == 1, err  # a file on the server was never processed
    assert "on the server but never processed" in out
    assert "processed but missing locally" in out
    assert "`statsbot sync --server main` imports them now" in out


async def test_reconcile_and_sync_tools_repair_drift_end_to_end(world: World, tmp_path: Path) -> None:
    world.put_remote(EVENING)
    world.put_local(EVENING)
    await world.import_(EVENING)
    await world.db.execute("DELETE FROM processed_files WHERE filename = ?", (EVENING[1],))
    await world.db.execute("DELETE FROM rounds WHERE filename = ?", (EVENING[3],))
    await world.db.close()  # the tools below write: they take the single-instance lock
    cfg = write_config(world, tmp_path / "statsbot.toml")

    code, out, _ = await run_tool("tools/reconcile_registry.py", "--config", str(cfg))
    assert code == 1  # changes needed: the dry run exits like `registry check`
    assert out.count("would: ") == 2
    code, out, err = await run_tool("-m", "tools.reconcile_registry", "--config", str(cfg), "--apply")
    assert code == 0, err
    assert out.count("applied: ") == 2
    code, out, _ = await run_tool("-m", "bot", "--config", str(cfg), "registry", "check")
    assert code == 0
    assert "nothing to do" in out
    code, out, err = await run_tool("tools/sync_stats.py", "--config", str(cfg))
    assert code == 0, err
    assert f"main/{EVENING[3]}: import → imported" in out
    code, out, err = await run_tool("-m", "tools.diagnose_file_sync", "--config", str(cfg))
    assert code == 0, out + err
    assert "no differences" in out


async def test_cli_health_db_and_explain(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    world.put_remote(EVENING)
    await world.import_(EVENING)
    cfg = str(write_config(world, tmp_path / "statsbot.toml"))
    assert await cli(["--config", cfg, "health"]) == 1  # no poll recorded: unhealthy
    assert "no successful poll yet" in capsys.readouterr().out
    assert await cli(["--config", cfg, "db", "check"]) == 0
    assert "OK" in capsys.readouterr().out
    assert await cli(["--config", cfg, "db", "backup"]) == 0
    assert "backup written" in capsys.readouterr().out
    # SQLite: a copy of the file; PostgreSQL: pg_dump's archive (a SQLite copy where pg_dump is missing)
    assert [p.suffix for p in (tmp_path / "backups").glob("statsbot-*")] in ([".db"], [".dump"])
    assert await cli(["--config", cfg, "explain", EVENING[0]]) == 0
    out = capsys.readouterr().out
    assert f"{EVENING[0]} on server main" in out
    assert "imported" in out
    assert await cli(["--config", cfg, "explain", "--json", EVENING[0]]) == 0
    assert json.loads(capsys.readouterr().out)[0]["registry"]["state"] == "imported"
    assert await cli(["--config", cfg, "explain", "nothing.txt"]) == 1
    assert await cli(["--config", cfg, "registry", "check"]) == 0
    assert await cli(["--config", cfg, "reprocess"]) == 2
    assert await cli(["--config", cfg, "reprocess", "--dry-run", "--map", "supply"]) == 0
    assert capsys.readouterr().out.count("would reprocess") == 2
    if world.db.engine == "sqlite":
        # a writer refuses while another process (here: this test's open database) holds the lock
        assert await cli(["--config", cfg, "reprocess", EVENING[0]]) == 1
        assert "already running" in capsys.readouterr().err
    else:  # several processes may write to PostgreSQL: the command reprocesses beside the open database
        assert await cli(["--config", cfg, "reprocess", EVENING[0]]) == 0
        assert "imported (round #1 replaced by #9)" in capsys.readouterr().out
    assert len(await ops_queries.round_refs(world.db, "main")) == 8


async def test_bad_config_is_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    code, _, err = await run_tool("tools/sync_stats.py", "--config", str(missing))
    assert code == 2
    assert "nope.toml" in err
    code, _, _ = await run_tool("-m", "tools.sync_stats", "--since", "yesterday")
    assert code == 2


READERS = (
    ["diagnose"],
    ["health"],
    ["explain", "x.txt"],
    ["registry", "check"],
    ["db", "backup"],
    ["outbox", "list"],
)


async def test_readers_never_create_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], new_store: NewStore
) -> None:
    store = new_store(empty=True)
    cfg = empty_store_config(tmp_path, store)
    said = "no database at" if isinstance(store, Path) else "no statsbot database at"
    for command in READERS:
        assert await cli(["--config", str(cfg), *command]) == 1, command
        err = capsys.readouterr().err
        assert said in err, (command, err)
        assert "Traceback" not in err
    assert nothing_created(tmp_path, store)
