"""Import order for one server: the chronological order of what the listing shows, across cycles.

A downloaded file is imported only when no earlier listed file of the server is still settling (or must
be fetched again): otherwise it is held and imported in the cycle that imports that earlier file. So a
restart that finds a round 2 (and a later round 1) already downloaded imports them after their own round
1, which may still be settling on the server, never before: no orphan post followed by a paired one.

The order also knows which listed names are not final yet (`awaited`), and among them the round 1 files
by map (`awaited_round1`): pairing does not declare a round 2 an orphan while a round 1 that may be its
own is among them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping

import structlog

from bot.ingest.registry import FINAL_STATES, Candidate, Plan
from bot.ingest.settle import SettleGate
from bot.ingest.source import RemoteEntry

log = structlog.get_logger(__name__)

# A file that has not settled after this long (it keeps changing, or every download fails) stops holding
# back the files after it: order is for pairing, it must not stop a server's imports for good.
MAX_HOLD_SECONDS = 300.0

Key = tuple[str, str]
# map → names of listed round 1 files not imported yet (a live index: read it, never keep it)
AwaitedRound1 = Mapping[str, Collection[str]]
_ROUND1_SUFFIX = "-round-1.txt"
_STAMP = len("YYYY-MM-DD-HHMMSS-")


def chronological(name: str) -> Key:
    # Names start with YYYY-MM-DD-HHMMSS: the basename sorts in time order (round 1 before round 2).
    return (name.rsplit("/", 1)[-1], name)


def round1_map(name: str) -> str | None:
    """The map of a round 1 stats file name (already checked against the grammar), else None."""
    base = name.rsplit("/", 1)[-1]
    return base[_STAMP : -len(_ROUND1_SUFFIX)] if base.endswith(_ROUND1_SUFFIX) else None


class ImportOrder:
    """Held downloads, the first unsettled name that holds them, and the listed names not final yet."""

    def __init__(
        self,
        gate: SettleGate,
        *,
        max_hold: float = MAX_HOLD_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._gate = gate
        self._max_hold = max_hold
        self._mono = monotonic
        self._held: dict[str, Candidate] = {}
        self._open: set[str] = set()
        self._round1: dict[str, set[str]] = {}  # the round 1 files among them, by map
        self._unsettled_since: dict[str, float] = {}  # names that held others back, since when
        self._gave_up: set[str] = set()  # unsettled for longer than max_hold: no longer holding (warned)
        self._first: Key | None = None
        self._stop_holding = False

    def awaited(self) -> frozenset[str]:
        """Names listed on the server and not imported (or otherwise final) yet."""
        return frozenset(self._open)

    def awaited_round1(self) -> AwaitedRound1:
        """Round 1 files listed and not final yet, by map: the live index, never copied (100,000 names
        on a first start); read it while nothing else runs on this server (during an import)."""
        return self._round1

    @property
    def held(self) -> int:
        return len(self._held)

    def listed(self, entries: Iterable[RemoteEntry], plan: Plan) -> None:
        """A fresh listing is the truth: names gone from it (or changed) are neither held nor hold others
        back, and the names not final yet are the listed ones."""
        if len(self._gate) or self._held:  # else nothing to check: skip indexing a big listing
            listed = {e.name: e for e in entries}
            self._gate.forget_all([n for n in self._gate.pending() if n not in listed])
            self._held = {n: c for n, c in self._held.items() if listed.get(n) == c.entry}
        self._open = set()
        self._round1 = {}
        self._add_open(self._held)
        self.seen(plan)

    def seen(self, plan: Plan) -> None:
        """A partial look (only what changed was listed, or the pending files by stat): its names not
        final yet join the awaited ones; nothing else is forgotten."""
        self._add_open(c.entry.name for c in (*plan.settle, *plan.fetch, *plan.import_local))
        self._add_open(plan.waiting)

    def _add_open(self, names: Iterable[str]) -> None:
        for name in names:
            if name in self._open:
                continue
            self._open.add(name)
            map_name = round1_map(name)
            if map_name is not None:
                self._round1.setdefault(map_name, set()).add(name)

    def gone(self, name: str) -> None:
        """The file vanished from the server."""
        self._done(name)
        self._held.pop(name, None)

    def _done(self, name: str) -> None:
        self._open.discard(name)
        map_name = round1_map(name)
        if map_name is not None and map_name in self._round1:
            self._round1[map_name].discard(name)

    def queue(self, fetched: Iterable[Candidate], local: Iterable[Candidate]) -> list[Candidate]:
        """This cycle's downloads plus the held ones, chronologically; then `admit` each in turn."""
        todo = {c.entry.name: c for c in self._held.values()}
        todo.update((c.entry.name, c) for c in (*fetched, *local))
        self._held = {}
        self._first = self._first_unsettled(todo)
        return sorted(todo.values(), key=lambda c: chronological(c.entry.name))

    def admit(self, cand: Candidate) -> bool:
        """True: import it now. False: it is held (an earlier listed file has not settled yet)."""
        name = cand.entry.name
        if self._first is None or chronological(name) < self._first:
            return True
        self._held[name] = cand
        self._gate.forget(name)  # settled and downloaded: only its turn is missing
        return False

    def imported(self, name: str, state: str) -> None:
        """After an import attempt: a final file is no longer awaited; one back in the gate (its local
        copy was not what was listed) settles again before anything after it."""
        if state in FINAL_STATES:
            self._done(name)
        if name in self._gate:
            key = chronological(name)
            self._first = key if self._first is None else min(self._first, key)

    def log_held(self) -> None:
        if self._held and self._first is not None:
            log.info("imports_held", files=len(self._held), until=self._first[1])

    def stop_holding(self) -> None:
        """The next `queue` holds nothing back (`once` ends: the files that did not settle in time stay for
        the next run, the ones after them are imported now rather than never)."""
        self._stop_holding = True

    def _first_unsettled(self, todo: dict[str, Candidate]) -> Key | None:
        now = self._mono()
        since = {n: self._unsettled_since.get(n, now) for n in self._gate.pending() if n not in todo}
        self._unsettled_since = since
        limit, self._stop_holding = (0.0 if self._stop_holding else self._max_hold), False
        holding: list[Key] = []
        for name, t in since.items():
            if now - t < limit:
                holding.append(chronological(name))
            elif name not in self._gave_up:
                self._gave_up.add(name)
                log.warning("import_order_gave_up", file=name, unsettled_seconds=round(now - t))
        self._gave_up &= since.keys()
        return min(holding, default=None)
