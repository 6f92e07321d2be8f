"""The composition root: `once`, `run` (in-process and as a child process stopped by SIGTERM), `import`."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.app import App
from bot.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, main
from bot.commands.daemon import ProgressBar
from bot.db import files as dbfiles
from bot.db import ops_queries, outbox
from bot.db.connection import Database
from tests.helpers.daemon import QuietChat, daemon_settings, make_app, server_values
from tests.helpers.sftp import SftpRig, sftp_rig

PROJECT = Path(__file__).resolve().parent.parent
NAMES = [
    "2025-10-02-213333-supply-round-1.txt",
    "2025-10-02-214239-supply-round-2.txt",
    "2025-10-02-232339-erdenberg_t2-round-1.txt",
    "2025-10-02-232818-erdenberg_t2-round-2.txt",
]


def put(rig: SftpRig, samples_dir: Path, names: list[str]) -> None:
    for name in names:
        rig.write(name, (samples_dir / name).read_bytes())


async def state_counts(db_path: Path) -> dict[tuple[str, str], int]:
    async with await Database.open(db_path, lock=False) as db:
        return await ops_queries.state_counts(db)


async def test_once_imports_every_server_waits_out_the_gate_and_drains(
    tmp_path: Path, samples_dir: Path
) -> None:
    async with sftp_rig(tmp_path / "a") as rig_a, sftp_rig(tmp_path / "b") as rig_b:
        put(rig_a, samples_dir, NAMES[:2])
        put(rig_b, samples_dir, NAMES[2:])
        settings = daemon_settings(
            tmp_path,
            [server_values(n, r, min_file_age_seconds=0.3) for n, r in (("a", rig_a), ("b", rig_b))],
        )
        chat = QuietChat()
        assert await make_app(settings, chat=chat).once() == 0
        counts = await state_counts(settings.paths.db_path)
        assert counts == {("a", "imported"): 2, ("b", "imported"): 2}
        printed = chat.stream.getvalue()
        assert printed.count("· match") == 2  # both pairs posted: the outbox was drained
        async with await Database.open(settings.paths.db_path, lock=False) as db:
            assert await outbox.backlog(db) == 0
        # a second run finds everything done
        again = QuietChat()
        assert await make_app(settings, chat=again).once() == 0
        assert await state_counts(settings.paths.db_path) == counts
        assert again.stream.getvalue() == ""


async def test_once_exits_1_when_a_server_fails_but_imports_the_others(
    tmp_path: Path, samples_dir: Path
) -> None:
    async with sftp_rig(tmp_path / "a") as rig_a, sftp_rig(tmp_path / "b") as rig_b:
        put(rig_a, samples_dir, NAMES[:2])
        await rig_b.server.stop()
        settings = daemon_settings(
            tmp_path,
            [server_values(n, r, min_file_age_seconds=0.2) for n, r in (("a", rig_a), ("b", rig_b))],
        )
        assert await make_app(settings).once() == 1
        assert await state_counts(settings.paths.db_path) == {("a", "imported"): 2}


class StopAfterFirstImport(App):
    """Asks for shutdown from inside the first import's commit callback."""

    stop_event: asyncio.Event | None = None

    def _notify_chat(self) -> None:
        assert self.stop_event is not None
        self.stop_event.set()


async def test_run_stops_between_imports_and_loses_nothing(tmp_path: Path, samples_dir: Path) -> None:
    async with sftp_rig(tmp_path) as rig:
        put(rig, samples_dir, NAMES)
        settings = daemon_settings(
            tmp_path, [server_values("main", rig, poll_seconds=0.2, min_file_age_seconds=0.3)]
        )
        stop = asyncio.Event()
        app = StopAfterFirstImport(settings, chat_factory=QuietChat())
        app.stop_event = stop
        assert await asyncio.wait_for(app.run(stop), 30) == 0
        assert app.db is None  # closed
        imported = (await state_counts(settings.paths.db_path)).get(("main", "imported"), 0)
        assert 1 <= imported < 4  # the import in progress committed; the cycle began no new file after stop
        # the rest is picked up by the next run, each file once
        assert await make_app(settings).once() == 0
        assert await state_counts(settings.paths.db_path) == {("main", "imported"): 4}


async def test_run_polls_on_schedule_until_stopped(tmp_path: Path, samples_dir: Path) -> None:
    async with sftp_rig(tmp_path) as rig:
        settings = daemon_settings(
            tmp_path, [server_values("main", rig, poll_seconds=0.2, min_file_age_seconds=0.2)]
        )
        chat = QuietChat()
        app = make_app(settings, chat=chat)
        stop = asyncio.Event()
        daemon = asyncio.create_task(app.run(stop))
        for i, name in enumerate(NAMES):  # files keep arriving while the daemon runs
            await asyncio.sleep(0.3)
            put(rig, samples_dir, [name])
            if i == 1:
                await asyncio.sleep(1.2)  # SFTP mtimes are whole seconds: give the directory a new one
        for _ in range(100):
            await asyncio.sleep(0.1)
            if chat.stream.getvalue().count("· match") == 2:
                break
        stop.set()
        assert await asyncio.wait_for(daemon, 30) == 0
        assert await state_counts(settings.paths.db_path) == {("main", "imported"): 4}


def write_config(path: Path, rig: SftpRig, base: Path, **extra: object) -> Path:
    values = server_values("main", rig, **extra)
    lines = [
        "[paths]",
        f'data_dir = "{base / "data"}"',
        f'local_stats = "{base / "local_stats"}"',
        "[backup]",
        "enabled = false",
        "[[servers]]",
    ]
    for key, value in values.items():
        lines.append(f"{key} = {value}" if isinstance(value, int | float) else f'{key} = "{value}"')
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_sigterm_drains_and_exits_0(tmp_path: Path, samples_dir: Path) -> None:
    async with sftp_rig(tmp_path) as rig:
        put(rig, samples_dir, NAMES)
        config = write_config(tmp_path / "statsbot.toml", rig, tmp_path, poll_seconds=0.3)
        env = {**os.environ, "STATSBOT_LOG__JSON": "true"}
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--config", str(config), "run",
            cwd=PROJECT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        db_path = tmp_path / "data" / "statsbot.db"
        try:
            for _ in range(150):
                await asyncio.sleep(0.1)
                if db_path.exists() and (await state_counts(db_path)).get(("main", "imported")) == 4:
                    break
            child.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(child.communicate(), 30)
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
        assert child.returncode == 0, err.decode()[-2000:]
        assert b"daemon_stopped" in err
        assert out.count(b"\xc2\xb7 match") == 2  # console sink: both matches posted before exit
        assert await state_counts(db_path) == {("main", "imported"): 4}
        async with await Database.open(db_path) as db:  # the instance lock was released
            assert await db.integrity_check() == ["ok"]


def test_import_command_is_idempotent_and_chronological(
    tmp_path: Path, samples_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "statsbot.toml"
    config.write_text(f'[paths]\ndata_dir = "{tmp_path / "data"}"\n[backup]\nenabled = false\n')
    folder = tmp_path / "in"
    folder.mkdir()
    for name in reversed(NAMES):  # R2 files written first: order comes from the names
        (folder / name).write_bytes((samples_dir / name).read_bytes())
    (folder / "README.txt").write_text("not a stats file")
    assert main(["--config", str(config), "import", str(folder)]) == EXIT_OK
    captured = capsys.readouterr()
    assert "local: imported 4, duplicates 0" in captured.out
    assert "skipped (not a stats file name)" in captured.err
    assert main(["--config", str(config), "import", str(folder), str(folder / NAMES[0])]) == EXIT_OK
    assert (
        "imported 0, duplicates 0, failed 0, quarantined 0, ignored 0, skipped 4" in capsys.readouterr().out
    )

    async def rounds() -> list[ops_queries.RoundRef]:
        async with await Database.open(tmp_path / "data" / "statsbot.db", lock=False) as db:
            return await ops_queries.round_refs(db, "local")

    refs = asyncio.run(rounds())
    assert sorted(r.status for r in refs) == ["paired", "paired", "r1", "r1"]
    assert main(["--config", str(config), "import", str(tmp_path / "missing")]) == EXIT_USAGE


def test_import_reports_failures_with_exit_1(
    tmp_path: Path, samples_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "statsbot.toml"
    config.write_text(f'[paths]\ndata_dir = "{tmp_path / "data"}"\n[backup]\nenabled = false\n')
    bad = tmp_path / NAMES[0]
    bad.write_bytes(b"garbage\\\n")
    assert main(["--config", str(config), "import", "--server", "old", str(bad)]) == EXIT_FAILURE
    assert "old: imported 0, duplicates 0, failed 0, quarantined 1" in capsys.readouterr().out

    async def row() -> dbfiles.FileRow:
        async with await Database.open(tmp_path / "data" / "statsbot.db", lock=False) as db:
            return (await dbfiles.get_rows(db, "old", [NAMES[0]]))[NAMES[0]]

    assert asyncio.run(row()).state == "quarantined"


def test_second_instance_is_refused_with_exit_1(
    tmp_path: Path, samples_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "statsbot.toml"
    config.write_text(f'[paths]\ndata_dir = "{tmp_path / "data"}"\n[backup]\nenabled = false\n')
    (tmp_path / NAMES[0]).write_bytes((samples_dir / NAMES[0]).read_bytes())

    async def while_locked() -> int:
        async with await Database.open(tmp_path / "data" / "statsbot.db"):
            return await asyncio.to_thread(
                main, ["--config", str(config), "import", str(tmp_path / NAMES[0])]
            )

    assert asyncio.run(while_locked()) == EXIT_FAILURE
    assert "already running" in capsys.readouterr().err


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_otherwise() -> None:
    tty, plain = _Tty(), io.StringIO()
    for stream in (tty, plain):
        bar = ProgressBar(stream)
        for done in range(1, 101):
            bar.update(done, 100, f"file-{done}")
        bar.finish()
    assert tty.getvalue().startswith("\r[")
    assert "100/100" in tty.getvalue()
    assert tty.getvalue().endswith("\n")
    lines = plain.getvalue().splitlines()
    assert len(lines) == 10  # every 10 %
    assert lines[-1].startswith("import: 100/100 files (100%)")
    assert "\r" not in plain.getvalue()


def test_import_no_posts_keeps_history_out_of_the_channel_but_not_alerts(
    tmp_path: Path, samples_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "statsbot.toml"
    config.write_text(f'[paths]\ndata_dir = "{tmp_path / "data"}"\n[backup]\nenabled = false\n')
    folder = tmp_path / "history"
    folder.mkdir()
    for name in NAMES:
        (folder / name).write_bytes((samples_dir / name).read_bytes())
    bad = "2025-10-02-230707-braundorf_b4-round-1.txt"
    (folder / bad).write_bytes(b"garbage\\\n")
    assert main(["--config", str(config), "import", "--no-posts", str(folder)]) == EXIT_FAILURE
    assert "imported 4" in capsys.readouterr().out

    async def outbox_and_sessions() -> tuple[list[tuple[str, str]], list[int]]:
        async with await Database.open(tmp_path / "data" / "statsbot.db", lock=False) as db:
            posts = [(str(r[0]), str(r[1])) for r in await db.fetchall("SELECT channel, kind FROM outbox")]
            closed = [int(r[0]) for r in await db.fetchall("SELECT closed FROM sessions")]
            return posts, closed

    posts, closed = asyncio.run(outbox_and_sessions())
    assert posts == [("admin", "alert")]  # the quarantine alert, no round/match posts
    assert closed
    assert all(closed)  # the idle-session job will not post history summaries later
