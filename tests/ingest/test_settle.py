"""The settle gate: two observations at least min_age apart on the local monotonic clock."""

from __future__ import annotations

from bot.ingest.settle import SettleGate


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_first_sight_never_settles_even_with_zero_age() -> None:
    clock = FakeClock()
    gate = SettleGate(0, clock=clock)
    assert gate.observe("a", 10, 5) is False
    assert gate.observe("a", 10, 5) is True


def test_unchanged_for_min_age_settles() -> None:
    clock = FakeClock()
    gate = SettleGate(2.0, clock=clock)
    assert not gate.observe("a", 10, 5)
    clock.now += 1.0
    assert not gate.observe("a", 10, 5)
    assert gate.remaining("a") == 1.0
    clock.now += 1.0
    assert gate.observe("a", 10, 5)
    assert gate.remaining("a") == 0.0


def test_growth_or_new_mtime_restarts_the_quiet_period() -> None:
    clock = FakeClock()
    gate = SettleGate(2.0, clock=clock)
    gate.observe("a", 10, 5)
    clock.now += 3
    assert not gate.observe("a", 20, 5)  # grew
    clock.now += 3
    assert not gate.observe("a", 20, 6)  # same size, touched
    clock.now += 1
    assert not gate.observe("a", 20, 6)
    clock.now += 1
    assert gate.observe("a", 20, 6)


def test_remote_mtime_is_never_compared_with_the_local_clock() -> None:
    # A remote mtime far in the future or in 1970 settles exactly like any other.
    clock = FakeClock()
    gate = SettleGate(2.0, clock=clock)
    for name, mtime in (("future", 4_000_000_000), ("old", 1)):
        gate.observe(name, 1, mtime)
    clock.now += 2
    assert gate.observe("future", 1, 4_000_000_000)
    assert gate.observe("old", 1, 1)


def test_restart_and_forget() -> None:
    clock = FakeClock()
    gate = SettleGate(1.0, clock=clock)
    gate.observe("a", 1, 1)
    gate.observe("b", 1, 1)
    clock.now += 5
    gate.restart("a")  # changed during download: must be seen unchanged again
    assert "a" in gate
    assert not gate.observe("a", 1, 1)
    clock.now += 1
    assert gate.observe("a", 1, 1)
    gate.forget("b")
    assert "b" not in gate
    assert gate.remaining("b") is None
    assert gate.pending() == ["a"]
    assert len(gate) == 1
