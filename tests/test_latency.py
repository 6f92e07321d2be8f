"""`statsbot run` latency: a file is re-checked once its quiet period has passed, not at the next cycle."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import App
from bot.chat.runtime import ChatRuntime, start_chat
from bot.config import Settings
from bot.db import files as dbfiles
from bot.db import status
from bot.db.connection import Database
from tests.helpers.counting_sftp import count_lstats
from tests.helpers.daemon import daemon_settings, server_values
from tests.helpers.sftp import SftpRig, sftp_rig

S1 = "2025-10-02-213333-supply-round-1.txt"
S1_HEAD = "supply · round 1 on main"


class StampedStream(io.StringIO):
    """The console sink's stream, noting the wall time at which each piece of text was printed."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[float, str]] = []

    def write(self, text: str) -> int:
        self.writes.append((time.time(), text))
        return super().write(text)

    def printed_at(self, needle: str) -> float | None:
        return next((at for at, text in self.writes if needle in text), None)


class StampedChat:
    def __init__(self) -> None:
        self.stream = StampedStream()

    async def __call__(self, settings: Settings, db: Database) -> ChatRuntime:
        return await start_chat(settings, db, stream=self.stream)


@dataclass(frozen=True, slots=True)
class Cycle:
    started: float  # wall time
    ended: float


class CycleWatch:
    """Every poll cycle of `main`, read from its server_status row (written at the end of each cycle)."""

    def __init__(self, app: App) -> None:
        self._app = app
        self.cycles: list[Cycle] = []

    async def watch(self) -> None:
        while True:
            db = self._app.db
            rows = [] if db is None else await status.server_statuses(db)
            for row in rows:
                if row.last_poll_at is not None and (
                    not self.cycles or self.cycles[-1].ended != row.last_poll_at
                ):
                    seconds = row.last_poll_seconds or 0.0
                    self.cycles.append(Cycle(row.last_poll_at - seconds, row.last_poll_at))
            await asyncio.sleep(0.02)

    async def wait_for(self, count: int, timeout: float = 10.0) -> Cycle:
        async with asyncio.timeout(timeout):
            while len(self.cycles) < count:
                await asyncio.sleep(0.02)
        return self.cycles[count - 1]


@dataclass
class Running:
    app: App
    chat: StampedChat
    cycles: CycleWatch
    stop: asyncio.Event
    daemon: asyncio.Task[int]


@contextlib.asynccontextmanager
async def running(tmp_path: Path, rig: SftpRig, **server: Any) -> AsyncIterator[Running]:
    """`App.run` against the rig with a stamped console sink; stopped (and asserted to exit 0) after."""
    # Round posts on: the latency measured is file closed → its round post printed.
    settings = daemon_settings(tmp_path, [server_values("main", rig, **server)], discord={"posts": "all"})
    chat = StampedChat()
    app = App(settings, chat_factory=chat)
    stop = asyncio.Event()
    daemon = asyncio.create_task(app.run(stop))
    cycles = CycleWatch(app)
    watcher = asyncio.create_task(cycles.watch())
    try:
        yield Running(app, chat, cycles, stop, daemon)
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        stop.set()
        assert await asyncio.wait_for(daemon, 30) == 0


async def wait_printed(stream: StampedStream, needle: str, timeout: float) -> float:
    async with asyncio.timeout(timeout):
        while (at := stream.printed_at(needle)) is None:
            await asyncio.sleep(0.02)
    return at


async def test_a_file_released_after_a_cycle_is_posted_before_the_next_but_one(
    tmp_path: Path, samples_dir: Path
) -> None:
    poll, min_age = 3.0, 0.5
    async with (
        sftp_rig(tmp_path) as rig,
        running(tmp_path, rig, poll_seconds=poll, min_file_age_seconds=min_age) as run,
    ):
        first = await run.cycles.wait_for(1)
        rig.write(S1, (samples_dir / S1).read_bytes())  # just after a cycle: the next one sees it first
        released = time.time()
        posted = await wait_printed(run.chat.stream, S1_HEAD, timeout=3 * poll)
        second = run.cycles.cycles[1]  # its record is written before the early re-check runs
        # Before: the file was seen by the 2nd cycle and fetched only by the 3rd (poll interval + the
        # 2nd cycle's remainder later). Now the re-check fetches it min_age after the 2nd cycle saw it.
        assert posted < first.started + 2 * poll - 1.0
        assert posted - released < poll + min_age + 1.0
        assert posted >= second.started + min_age  # the settle gate still waited its quiet period


async def test_a_growing_file_is_rechecked_sparingly_and_imported_once_complete(
    tmp_path: Path, samples_dir: Path
) -> None:
    data = (samples_dir / S1).read_bytes()
    chunks = [data[i : i + len(data) // 12 + 1] for i in range(0, len(data), len(data) // 12 + 1)]
    async with sftp_rig(tmp_path) as rig:
        lstats: Counter[str] = count_lstats(rig)
        async with running(tmp_path, rig, poll_seconds=1.5, min_file_age_seconds=0.5) as run:
            await run.cycles.wait_for(1)
            path = rig.write(S1, chunks[0])
            for chunk in chunks[1:]:  # a file still being written, in pieces, for ~2.5 s
                await asyncio.sleep(0.22)
                with path.open("ab") as handle:
                    handle.write(chunk)
            finished = time.time()
            looks_while_growing = lstats[S1]
            posted = await wait_printed(run.chat.stream, S1_HEAD, timeout=6)
        # Re-checks are a quiet period apart and capped per cycle: a handful, not a busy loop.
        assert 1 <= looks_while_growing <= 8
        assert posted >= finished + 0.5  # fetched only after two equal looks min_age apart
        async with await Database.open(run.app.settings.paths.db_path, lock=False) as db:
            row = (await dbfiles.get_rows(db, "main", [S1]))[S1]
        assert (row.state, row.size) == ("imported", len(data))  # never imported half-written


async def test_shutdown_is_prompt_while_a_recheck_waits(tmp_path: Path, samples_dir: Path) -> None:
    async with sftp_rig(tmp_path) as rig:
        rig.write(S1, (samples_dir / S1).read_bytes())
        async with running(tmp_path, rig, poll_seconds=20, min_file_age_seconds=8) as run:
            await run.cycles.wait_for(1)
            await asyncio.sleep(0.3)  # the job now waits ~8 s for the file's quiet period
            assert not run.daemon.done()
            run.stop.set()
            started = time.monotonic()
            assert await asyncio.wait_for(asyncio.shield(run.daemon), 5) == 0
            assert time.monotonic() - started < 2.0
        assert run.chat.stream.printed_at(S1_HEAD) is None  # stopped before the gate let it through
