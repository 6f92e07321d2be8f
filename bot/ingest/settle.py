"""The settle gate: a remote file is fetched only once its size and mtime stop changing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class _Observation:
    size: int
    mtime: int
    since: float  # local monotonic time at which this (size, mtime) was first observed


class SettleGate:
    """Tracks (size, mtime) per name across listings, on the LOCAL monotonic clock.

    A file is settled when the same (size, mtime) was observed in two listings at least
    `min_age` seconds apart. The remote mtime is only compared with itself, never with the local
    wall clock: a server whose clock is off by an hour still settles after `min_age`.
    """

    def __init__(self, min_age: float, *, clock: Clock = time.monotonic) -> None:
        self._min_age = max(0.0, min_age)
        self._clock = clock
        self._seen: dict[str, _Observation] = {}

    @property
    def min_age(self) -> float:
        return self._min_age

    def observe(self, name: str, size: int, mtime: int) -> bool:
        """Record one observation; True when the file has settled (and may be fetched)."""
        now = self._clock()
        previous = self._seen.get(name)
        if previous is None or previous.size != size or previous.mtime != mtime:
            # New or changed: the quiet period starts again from this listing.
            self._seen[name] = _Observation(size, mtime, now)
            return False
        return now - previous.since >= self._min_age

    def remaining(self, name: str) -> float | None:
        """Seconds until `name` may settle if unchanged (0 when due), or None if not tracked."""
        previous = self._seen.get(name)
        if previous is None:
            return None
        return max(0.0, self._min_age - (self._clock() - previous.since))

    def due(self) -> list[str]:
        """Names whose quiet period has passed: the next look at them settles them if still unchanged."""
        now = self._clock()
        return [name for name, obs in self._seen.items() if now - obs.since >= self._min_age]

    def next_due(self) -> float | None:
        """Seconds until the first name's quiet period has passed (0 when one is due), None if none."""
        if not self._seen:
            return None
        oldest = min(obs.since for obs in self._seen.values())
        return max(0.0, self._min_age - (self._clock() - oldest))

    def restart(self, name: str) -> None:
        """Keep tracking `name` but start its quiet period again (it changed during download)."""
        self._seen[name] = _Observation(-1, -1, self._clock())

    def forget(self, name: str) -> None:
        """Drop a name (fetched, vanished, or changed during download: it must settle again)."""
        self._seen.pop(name, None)

    def forget_all(self, names: Iterable[str]) -> None:
        for name in names:
            self._seen.pop(name, None)

    def pending(self) -> list[str]:
        """Names still waiting to settle, oldest observation first."""
        return sorted(self._seen, key=lambda n: self._seen[n].since)

    def __contains__(self, name: object) -> bool:
        return name in self._seen

    def __len__(self) -> int:
        return len(self._seen)
