"""bot.scheduler on a real AsyncIOScheduler: run-now, overlap skipping, failures counted, graceful stop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time

import pytest
import structlog

from bot.scheduler import Scheduler


@pytest.fixture
async def scheduler() -> AsyncIterator[Scheduler]:
    sched = Scheduler()
    yield sched
    await sched.stop(grace_seconds=0.5)


async def wait_for(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def test_run_now_runs_at_start_and_then_waits_the_interval(scheduler: Scheduler) -> None:
    runs: list[str] = []

    async def poll(server: str) -> None:
        runs.append(server)

    scheduler.add_interval("poll:main", poll, 60, args=["main"])
    scheduler.add_interval("poll:later", poll, 60, args=["later"], run_now=False)
    before = scheduler.is_running
    scheduler.start()
    assert (before, scheduler.is_running) == (False, True)
    await wait_for(lambda: runs == ["main"])
    await asyncio.sleep(0.2)
    assert runs == ["main"]
    later = scheduler.next_run_at("poll:later")
    assert later is not None
    assert later - datetime.now(UTC) > timedelta(seconds=55)
    assert scheduler.job_stats()["poll:main"].runs == 1
    assert scheduler.job_stats()["poll:main"].last_success_at is not None


async def test_run_now_on_a_running_scheduler(scheduler: Scheduler) -> None:
    runs: list[int] = []

    async def job() -> None:
        runs.append(1)

    scheduler.start()
    scheduler.add_interval("late", job, 60)
    await wait_for(lambda: runs == [1])


async def test_interval_repeats(scheduler: Scheduler) -> None:
    runs: list[float] = []

    async def tick() -> None:
        runs.append(time.monotonic())

    scheduler.add_interval("tick", tick, 0.1)
    scheduler.start()
    await wait_for(lambda: len(runs) >= 3)


async def test_failing_job_is_counted_logged_and_does_not_stop_others(scheduler: Scheduler) -> None:
    good: list[int] = []

    async def failing() -> None:
        raise RuntimeError("boom")

    async def fine() -> None:
        good.append(1)

    scheduler.add_interval("bad", failing, 0.1)
    scheduler.add_interval("good", fine, 0.1)
    with structlog.testing.capture_logs() as logs:
        scheduler.start()
        await wait_for(lambda: scheduler.job_stats()["bad"].errors >= 3 and len(good) >= 3)
    stats = scheduler.job_stats()
    assert stats["bad"].consecutive_errors == stats["bad"].errors
    assert stats["bad"].last_error == "RuntimeError: boom"
    assert stats["bad"].last_error_at is not None
    assert stats["bad"].runs == 0
    assert stats["good"].errors == 0
    assert "bad" in scheduler.job_ids()  # still scheduled after failing
    failures = [entry for entry in logs if entry["event"] == "job_failed"]
    assert failures
    assert failures[0]["job"] == "bad"
    assert failures[0]["log_level"] == "error"
    assert failures[0]["error"] == "RuntimeError: boom"


async def test_recovery_resets_consecutive_errors(scheduler: Scheduler) -> None:
    calls: list[int] = []

    async def flaky() -> None:
        calls.append(1)
        if len(calls) <= 2:
            raise OSError("server down")

    scheduler.add_interval("flaky", flaky, 0.05)
    with structlog.testing.capture_logs() as logs:
        scheduler.start()
        await wait_for(lambda: scheduler.job_stats()["flaky"].runs >= 1)
    stats = scheduler.job_stats()["flaky"]
    assert (stats.errors, stats.consecutive_errors) == (2, 0)
    assert any(e["event"] == "job_recovered" and e["after_errors"] == 2 for e in logs)


async def test_overlapping_run_is_skipped_not_stacked(scheduler: Scheduler) -> None:
    active: list[int] = []
    peak: list[int] = []

    async def slow() -> None:
        active.append(1)
        peak.append(len(active))
        await asyncio.sleep(0.35)
        active.pop()

    scheduler.add_interval("slow", slow, 0.05)
    with structlog.testing.capture_logs() as logs:
        scheduler.start()
        await wait_for(lambda: scheduler.job_stats()["slow"].skipped >= 3)
    assert max(peak) == 1
    assert scheduler.job_stats()["slow"].running
    warnings = [e for e in logs if e["event"] == "job_skipped_still_running" and e["log_level"] == "warning"]
    assert len(warnings) == 1  # one warning per streak, not one per tick


async def test_missed_run_is_counted(scheduler: Scheduler) -> None:
    async def job() -> None:
        pass

    scheduler.add_interval("poll", job, 1, run_now=False)
    scheduler.start()
    with structlog.testing.capture_logs() as logs:
        scheduler.run_soon("poll")  # queues the scheduler's wakeup on the loop
        # Stall the loop after the job was handed to the executor but before it starts: its run time
        # is then older than the grace (1 s for a 1 s interval).
        asyncio.get_running_loop().call_soon(time.sleep, 1.2)
        await wait_for(lambda: scheduler.job_stats()["poll"].missed == 1)
    assert scheduler.job_stats()["poll"].runs == 0
    assert any(e["event"] == "job_missed" and e["job"] == "poll" and e["scheduled_at"] for e in logs)


async def test_jobs_log_with_their_job_id_bound() -> None:
    sched = Scheduler()
    seen: list[object] = []

    async def job() -> None:
        seen.append(structlog.contextvars.get_contextvars().get("job"))

    sched.add_interval("poll:eu-1", job, 60)
    sched.start()
    await wait_for(lambda: seen == ["poll:eu-1"])
    await sched.stop()
    assert "job" not in structlog.contextvars.get_contextvars()


async def test_stop_waits_for_running_job_to_finish() -> None:
    sched = Scheduler()
    finished: list[bool] = []
    started = asyncio.Event()

    async def importer() -> None:
        started.set()
        await asyncio.sleep(0.3)
        finished.append(True)

    sched.add_interval("import", importer, 60)
    sched.start()
    await started.wait()
    assert await sched.stop(grace_seconds=3) is True
    assert finished == [True]
    assert not sched.is_running
    assert sched.job_stats()["import"].runs == 1


async def test_stop_cancels_a_job_that_overruns_the_grace() -> None:
    sched = Scheduler()
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def stuck() -> None:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    sched.add_interval("stuck", stuck, 60)
    sched.start()
    await started.wait()
    with structlog.testing.capture_logs() as logs:
        assert await sched.stop(grace_seconds=0.1) is False
        await wait_for(lambda: cancelled == [True])
        await asyncio.sleep(0.05)
    assert sched.job_stats()["stuck"].errors == 0  # a cancellation at shutdown is not a job failure
    events = [e["event"] for e in logs]
    assert "jobs_cancelled_at_shutdown" in events
    assert "job_failed" not in events


async def test_replace_remove_cron_and_daily(scheduler: Scheduler) -> None:
    async def job() -> None:
        pass

    scheduler.add_interval("poll", job, 30, run_now=False)
    scheduler.add_interval("poll", job, 45, run_now=False)
    scheduler.add_daily("backup", job, clock_time(4, 30))
    scheduler.add_cron("health", job, minute="*/5")
    scheduler.start()
    assert sorted(scheduler.job_ids()) == ["backup", "health", "poll"]
    backup = scheduler.next_run_at("backup")
    assert backup is not None
    assert (backup.hour, backup.minute, backup.second) == (4, 30, 0)
    health = scheduler.next_run_at("health")
    assert health is not None
    assert health.minute % 5 == 0
    poll = scheduler.next_run_at("poll")
    assert poll is not None
    assert timedelta(seconds=40) < poll - datetime.now(UTC) <= timedelta(seconds=45)
    scheduler.remove("poll")
    assert "poll" not in scheduler.job_ids()
    assert "poll" not in scheduler.job_stats()
    assert scheduler.next_run_at("poll") is None


async def test_run_soon_moves_the_next_run_forward(scheduler: Scheduler) -> None:
    runs: list[int] = []

    async def job() -> None:
        runs.append(1)

    scheduler.add_interval("sync", job, 3600, run_now=False)
    scheduler.start()
    scheduler.run_soon("sync")
    await wait_for(lambda: runs == [1])


def test_interval_must_be_positive() -> None:
    async def job() -> None:
        pass

    with pytest.raises(ValueError, match="interval"):
        Scheduler().add_interval("x", job, 0)


async def test_shutdown_twice_is_harmless() -> None:
    sched = Scheduler()
    loop_errors: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, context: loop_errors.append(context))
    sched.start()
    sched.shutdown()
    sched.shutdown()
    await asyncio.sleep(0.05)
    assert not sched.is_running
    assert await sched.stop() is True
    assert loop_errors == []
