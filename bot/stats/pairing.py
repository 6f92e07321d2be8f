"""Round-1/round-2 pairing of one server's files (STATS_FORMAT.md §10, §12 B11/B12/B16/B17)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from bot.stats import anomalies
from bot.stats.model import Pairing, ParsedRound, RoundRef

# slomix's window; real R1→R2 gaps are 2-15 minutes (§3.3).
DEFAULT_WINDOW = dt.timedelta(minutes=45)


def round_ref(parsed: ParsedRound) -> RoundRef:
    """What pairing needs of a parsed file. Shutdown-path files and invalid field-7 R2s never pair (B11)."""
    header = parsed.header
    pairable = anomalies.SHUTDOWN_PATH not in parsed.flags
    return RoundRef(
        filename=parsed.filename,
        played_at=parsed.name.played_at,
        map=header.map,
        round_number=header.round_number,
        time_limit_raw=header.time_limit_raw,
        next_time_limit_raw=header.next_time_limit_raw,
        pairable=pairable,
    )


def can_pair(r1: RoundRef, r2: RoundRef, window: dt.timedelta = DEFAULT_WINDOW) -> bool:
    """Whether `r2` may be the round 2 of `r1`: same map, r1 strictly earlier and within `window`,
    R2 field 6 byte-identical to R1 field 7 (the time to beat), both pairable."""
    return (
        r1.round_number == 1
        and r2.round_number == 2
        and r1.pairable
        and r2.pairable
        and r1.map == r2.map
        and r1.played_at < r2.played_at <= r1.played_at + window
        and r2.time_limit_raw == r1.next_time_limit_raw
    )


def pairing_order(ref: RoundRef) -> tuple[dt.datetime, int, str]:
    """The order pairing walks files in: full date-time (midnight-safe), round, name."""
    return ref.played_at, ref.round_number, ref.filename


@dataclass(frozen=True, slots=True)
class Step:
    """What one file settled, fed to `Pairer.add` in pairing order."""

    paired_with: str | None = None  # the round 1 this round 2 pairs with
    closed: tuple[str, ...] = ()  # round 1s now known to have no round 2 (may include the file itself)
    orphan: bool = False  # this round 2 pairs with nothing
    opened: bool = False  # this round 1 is now the open one, waiting for its round 2


_NOTHING = Step()


class Pairer:
    """§10 one file at a time: feed every file in `pairing_order`, then call `finish`.

    At most one round 1 is open at a time (stopwatch plays one match per server): a new round 1
    abandons the open one (restart or map change before its R2, B12), and the round 2 that pairs with
    it consumes it (§10 step 3). A round 2 that does not fit (another map in a shared folder, a
    shutdown-path file) is an orphan and leaves the open round 1 for its real round 2, so a replayed
    map cannot pair its round 2 with the previous match (B17): the header check (R2 field 6 = R1
    field 7) and the window keep them apart. Once a file comes later than the open round 1's window,
    no round 2 can pair with it any more: it is closed then, which only settles it sooner.
    """

    def __init__(self, window: dt.timedelta = DEFAULT_WINDOW) -> None:
        self.window = window
        self._open: RoundRef | None = None
        self._seen: set[str] = set()

    def add(self, ref: RoundRef) -> Step:
        if ref.filename in self._seen:  # the same file given twice is one file
            return _NOTHING
        self._seen.add(ref.filename)
        closed: list[str] = []
        if self._open is not None and ref.played_at > self._open.played_at + self.window:
            closed.append(self._open.filename)
            self._open = None
        if ref.round_number == 1:
            if self._open is not None:
                closed.append(self._open.filename)
            if ref.pairable:
                self._open = ref
                return Step(closed=tuple(closed), opened=True)
            self._open = None
            closed.append(ref.filename)
            return Step(closed=tuple(closed))
        if self._open is not None and can_pair(self._open, ref, self.window):
            r1, self._open = self._open.filename, None
            return Step(paired_with=r1, closed=tuple(closed))
        return Step(closed=tuple(closed), orphan=True)

    def finish(self) -> str | None:
        """The round 1 still open at the end: it has no round 2 among the files."""
        open_r1, self._open = self._open, None
        return open_r1.filename if open_r1 is not None else None


def pair_rounds(refs: Iterable[RoundRef], window: dt.timedelta = DEFAULT_WINDOW) -> Pairing:
    """Pair a server's files (any order given): the `Pairer` walk over them in pairing order."""
    pairer = Pairer(window)
    pairs: dict[str, str] = {}
    orphans: set[str] = set()
    lone: set[str] = set()
    for ref in sorted(refs, key=pairing_order):
        step = pairer.add(ref)
        lone.update(step.closed)
        if step.paired_with is not None:
            pairs[ref.filename] = step.paired_with
        elif step.orphan:
            orphans.add(ref.filename)
    last = pairer.finish()
    if last is not None:
        lone.add(last)
    return Pairing(pairs=pairs, orphan_round2=frozenset(orphans), lone_round1=frozenset(lone))
