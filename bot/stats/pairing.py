"""Round-1/round-2 pairing of one server's files (STATS_FORMAT.md §10, §12 B11/B12/B16/B17)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

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


def _order(ref: RoundRef) -> tuple[dt.datetime, int, str]:
    return ref.played_at, ref.round_number, ref.filename


def pair_rounds(refs: Iterable[RoundRef], window: dt.timedelta = DEFAULT_WINDOW) -> Pairing:
    """Pair a server's files walking them chronologically by full date-time (midnight-safe).

    At most one round 1 is open at a time (stopwatch plays one match per server): a new round 1
    abandons the open one, and the round 2 that pairs with it consumes it. A round 2 that does not fit
    is an orphan and leaves the open round 1 for its real round 2. So a round 1 is consumed by at most
    one round 2, and a replayed map cannot pair its round 2 with the previous match (B17): the header
    check (R2 field 6 = R1 field 7) and the window keep it apart.
    """
    pairs: dict[str, str] = {}
    orphans: set[str] = set()
    lone: set[str] = set()
    open_r1: RoundRef | None = None
    seen: set[str] = set()
    for ref in sorted(refs, key=_order):
        if ref.filename in seen:  # the same file given twice is one file
            continue
        seen.add(ref.filename)
        if ref.round_number == 1:
            if open_r1 is not None:
                lone.add(open_r1.filename)  # abandoned: restart or map change before its R2 (B12)
            if ref.pairable:
                open_r1 = ref
            else:
                open_r1 = None
                lone.add(ref.filename)
            continue
        if open_r1 is not None and can_pair(open_r1, ref, window):
            pairs[ref.filename] = open_r1.filename
            open_r1 = None  # §10 step 3: an R1 is consumed by at most one R2
        else:
            # An R2 that does not fit (another map in a shared folder, a shutdown-path file) is an orphan;
            # only a pair consumes the open R1, so the right R2 may still follow within the window.
            orphans.add(ref.filename)
    if open_r1 is not None:
        lone.add(open_r1.filename)
    return Pairing(pairs=pairs, orphan_round2=frozenset(orphans), lone_round1=frozenset(lone))
