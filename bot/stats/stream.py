"""Parsed files in pairing order, each released once its pairing is settled (STATS_FORMAT.md §9.2, §10).

A batch over thousands of files needs only the open round 1 and what came after it: a round 1 waits
for its round 2 (or for the file that closes it), and whatever follows it waits behind it so the
output stays in order. Everything else is released, and freed, at once.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.stats.differential import round2_only
from bot.stats.model import ParsedRound
from bot.stats.pairing import DEFAULT_WINDOW, Pairer, pairing_order, round_ref

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Settled(Generic[T]):
    """One item with its pairing settled."""

    item: T
    parsed: ParsedRound | None  # None: not a parsed stats file (an error, a companion)
    partner: ParsedRound | None  # the other round of its pair, as parsed; None when unpaired
    shown: ParsedRound | None  # a paired round 2 with round-2-only values (§9.2), else `parsed`


@dataclass(slots=True)
class _Waiting(Generic[T]):
    item: T
    parsed: ParsedRound | None
    settled: bool = True
    partner: ParsedRound | None = None

    def release(self) -> Settled[T]:
        parsed, partner = self.parsed, self.partner
        if parsed is not None and partner is not None and parsed.header.round_number == 2:
            return Settled(self.item, parsed, partner, round2_only(partner, parsed))
        return Settled(self.item, parsed, partner, parsed)


def settle_in_order(
    items: Iterable[tuple[T, ParsedRound | None]], window: dt.timedelta = DEFAULT_WINDOW
) -> Iterator[Settled[T]]:
    """Each (item, parsed round or None) back in the same order, once its pairing is settled.

    The parsed rounds must come in `pairing_order` (ValueError otherwise); items without one pass
    through in place. Pairs and lone rounds are exactly `pair_rounds` over the parsed rounds.
    """
    pairer = Pairer(window)
    queue: deque[_Waiting[T]] = deque()
    open_r1: _Waiting[T] | None = None
    last: tuple[dt.datetime, int, str] | None = None
    for item, parsed in items:
        waiting = _Waiting(item, parsed)
        if parsed is not None:
            ref = round_ref(parsed)
            order = pairing_order(ref)
            if last is not None and order < last:
                raise ValueError(f"{parsed.filename} comes before {last[2]} in pairing order")
            last = order
            step = pairer.add(ref)
            if open_r1 is not None and open_r1.parsed is not None and open_r1.parsed.filename in step.closed:
                open_r1.settled, open_r1 = True, None
            if step.paired_with is not None and open_r1 is not None:
                open_r1.partner, waiting.partner = parsed, open_r1.parsed
                open_r1.settled, open_r1 = True, None
            if step.opened:
                waiting.settled, open_r1 = False, waiting
        queue.append(waiting)
        while queue and queue[0].settled:
            yield queue.popleft().release()
    pairer.finish()
    while queue:
        yield queue.popleft().release()
