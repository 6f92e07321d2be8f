"""What one import transaction knows while it pairs: the rounds it inserted, their foreseen pair work,
parses of stored rounds (each made at most once), and the pairing view of a stored round."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from bot.db import rounds as dbrounds
from bot.db.connection import SyncTx
from bot.db.rounds import RoundRow, parse_played_at
from bot.db.rows import PlayerRows, player_rows
from bot.ingest.prepared import PairKey, PreparedPair, PreparedRound, parse_cached, prepare_pair
from bot.stats.derived import duration_s
from bot.stats.model import ParsedRound, RoundRef


@dataclass(slots=True)
class BatchState:
    """One import transaction's memory: rounds it inserted (with their prepared values and bytes), the
    pair derivations foreseen for them, and parses of stored rounds, each made at most once."""

    pairs: Mapping[PairKey, PreparedPair] = field(default_factory=dict)
    fresh: dict[int, tuple[PreparedRound, bytes]] = field(default_factory=dict)
    parsed: dict[int, ParsedRound] = field(default_factory=dict)
    # Per server, by map: round 1 files listed on the server and not imported yet (settling, downloading,
    # waiting for a retry). A round 2 is not declared an orphan while one that may be its own is listed.
    awaited: Mapping[str, Mapping[str, Collection[str]]] = field(default_factory=dict)
    # False for a history import without posts: no record notes are looked up (no post carries them).
    notes: bool = True


@dataclass(slots=True)
class PairingContext:
    """One import's view: the new round's id, the pairing window and the batch it belongs to."""

    server: str
    new_id: int
    window: dt.timedelta
    now: float
    batch: BatchState
    new_filename: str = ""  # the file whose import this is ("" for the wall-clock orphan sweep)

    def parse(self, stx: SyncTx, row: RoundRow) -> ParsedRound:
        """The parsed file of a stored round (only where no prepared value serves)."""
        parsed = self.batch.parsed.get(row.id)
        if parsed is None:
            fresh = self.batch.fresh.get(row.id)
            # Stored bytes parsed fine once; the parser is deterministic, so they parse again.
            raw = fresh[1] if fresh is not None else dbrounds.raw_content_sync(stx, row.id)
            parsed = self.batch.parsed[row.id] = parse_cached(row.filename, raw)
        return parsed

    def raw_players(self, stx: SyncTx, row: RoundRow) -> PlayerRows:
        """A round's rows as in its file (cumulative values for a round 2)."""
        fresh = self.batch.fresh.get(row.id)
        return fresh[0].players if fresh is not None else player_rows(self.parse(stx, row).players)

    def own_duration(self, stx: SyncTx, row: RoundRow) -> int | None:
        fresh = self.batch.fresh.get(row.id)
        return fresh[0].duration_s if fresh is not None else duration_s(self.parse(stx, row))

    def pair_work(self, stx: SyncTx, r1: RoundRow, r2: RoundRow, flags: frozenset[str]) -> PreparedPair:
        """The foreseen derivation when both rounds came from this batch's bytes, else derived now."""
        fresh = self.batch.fresh
        if r1.id in fresh and r2.id in fresh:
            work = self.batch.pairs.get((self.server, r1.filename, r2.filename))
            if work is not None and work.flags == flags:
                return work
        return prepare_pair(self.server, self.parse(stx, r1), self.parse(stx, r2), flags)


def ref_of(row: RoundRow) -> RoundRef:
    """The pairing view of a stored round (no parse needed)."""
    return RoundRef(
        filename=row.filename,
        played_at=parse_played_at(row.played_at),
        map=row.map,
        round_number=row.round_number,
        time_limit_raw=row.time_limit_raw,
        next_time_limit_raw=row.next_time_limit_raw,
        pairable=row.pairable,
    )
