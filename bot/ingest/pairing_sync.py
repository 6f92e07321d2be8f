"""Store a new round and keep R1/R2 pairs equal to pair_rounds over all of a server's files, any order."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

from bot.db import outbox
from bot.db import rounds as dbrounds
from bot.db.connection import SyncTx
from bot.db.rounds import RoundRow, parse_played_at
from bot.db.sessions import attach_round_sync
from bot.ingest import posts
from bot.stats.derived import duration_s
from bot.stats.differential import match_totals, round2_only
from bot.stats.model import ParsedRound, RoundRef
from bot.stats.outcome import match_outcome
from bot.stats.pairing import pair_rounds, round_ref
from bot.stats.parser import parse_round

ORPHAN_FLAG = "orphan"  # round flag of a round 2 whose round 1 never came (raw cumulative values)


@functools.lru_cache(maxsize=256)  # ~5 MB; holds a whole import_batch of 200 files
def parse_cached(filename: str, data: bytes) -> ParsedRound:
    """parse_round, remembered for recent files: a round 2 arrives minutes after the round 1 it needs.

    Safe to share: the parse is deterministic for (name, bytes) and ParsedRound is immutable.
    """
    return parse_round(filename, data)


@dataclass(slots=True)
class PairingContext:
    """One import's view: the new round (parsed already) and parses of stored rounds, made at most once."""

    server: str
    new_id: int
    new_parsed: ParsedRound
    window: dt.timedelta
    now: float
    parsed: dict[int, ParsedRound] = field(default_factory=dict)

    def parse(self, stx: SyncTx, row: RoundRow) -> ParsedRound:
        if row.id == self.new_id:
            return self.new_parsed
        if row.id not in self.parsed:
            # Stored bytes parsed fine once; the parser is deterministic, so they parse again.
            self.parsed[row.id] = parse_cached(row.filename, dbrounds.raw_content_sync(stx, row.id))
        return self.parsed[row.id]


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


def store_round(
    stx: SyncTx,
    parsed: ParsedRound,
    server: str,
    data: bytes,
    sha256: str,
    *,
    now: float,
    session_gap: float,
    window: dt.timedelta,
) -> int:
    """Insert a new round into its session, queue the R1 post, then re-pair its neighbourhood."""
    played = dbrounds.played_at_text(parsed.name.played_at)
    session_id = attach_round_sync(stx, server, played, gap_seconds=session_gap, now=now)
    is_r1 = parsed.name.round_number == 1
    seconds = duration_s(parsed) if is_r1 else None
    pairable = round_ref(parsed).pairable
    status = "r1" if is_r1 else "pending_r1"
    round_id = dbrounds.insert_round_sync(
        stx,
        server=server,
        parsed=parsed,
        players=parsed.players if is_r1 else (),  # round 2 players: written by the pairing step
        sha256=sha256,
        raw=data,
        status=status,
        duration_s=seconds,
        pairable=pairable,
        flags=parsed.flags,
        session_id=session_id,
        now=now,
    )
    if is_r1:
        outbox.enqueue_sync(
            stx,
            kind=posts.KIND_ROUND,
            channel="stats",
            dedupe_key=f"round:{server}:{parsed.filename}",
            payload=posts.round_payload(server, parsed, status="r1", duration_s=seconds, paired_with=None),
            now=now,
        )
    h = parsed.header
    new_row = RoundRow(
        round_id, server, parsed.filename, sha256, parsed.name.map, parsed.name.round_number, played,
        h.time_limit_raw, h.next_time_limit_raw, status, None, session_id, pairable,
        dbrounds.join_flags(parsed.flags),
    )  # fmt: skip
    sync_pairs(stx, PairingContext(server, round_id, parsed, window, now), new_row)
    return round_id


def sync_pairs(stx: SyncTx, ctx: PairingContext, new_row: RoundRow) -> None:
    """Re-pair the neighbourhood of the new round and mark pending round 2s that can no longer pair.

    Only rounds between the round 1 before the new round and the round 1 after it can change partner:
    a round 1 resets pairing, so pair_rounds over that slice equals pair_rounds over everything.
    """
    rows = dbrounds.pairing_range_sync(stx, ctx.server, new_row.played_at, new_row.filename)
    wanted = pair_rounds([ref_of(r) for r in rows], window=ctx.window).pairs
    by_file = {r.filename: r for r in rows}
    changes: list[tuple[RoundRow, RoundRow | None]] = []
    for r2 in rows:
        if r2.round_number != 2:
            continue
        want = by_file.get(wanted.get(r2.filename, ""))
        if r2.id == ctx.new_id or (want.id if want else None) != r2.paired_round_id:
            changes.append((r2, want))
    # Undo every pair that changes before making new ones: a round 1 may move from one round 2 to another.
    for r2, _ in changes:
        if r2.paired_round_id is not None:
            dbrounds.delete_match_of_sync(stx, r2.id)
            dbrounds.clear_partner_sync(stx, r2.paired_round_id, r2.id)
    for r2, want in changes:
        if want is not None:
            _pair(stx, ctx, want, r2)
        else:
            _unpair(stx, ctx, r2, was_paired=r2.paired_round_id is not None)
    _sweep_pending(stx, ctx)


def _pair(stx: SyncTx, ctx: PairingContext, r1: RoundRow, r2: RoundRow) -> None:
    """Store `r2` as round-2-only values against `r1`, write the match, queue the R2 and match posts."""
    r1p, r2p = ctx.parse(stx, r1), ctx.parse(stx, r2)
    only = round2_only(r1p, r2p)
    seconds = duration_s(r2p, r1p)
    if r2.id == ctx.new_id:
        dbrounds.insert_players_sync(stx, r2.id, only.players)
    else:
        dbrounds.replace_players_sync(stx, r2.id, only.players)
    flags = r2.flag_set - {ORPHAN_FLAG}
    dbrounds.update_round_sync(
        stx,
        r2.id,
        status="paired",
        paired_round_id=r1.id,
        duration_s=seconds,
        flags=flags,
        player_count=len(only.players),
    )
    dbrounds.set_partner_sync(stx, r1.id, r2.id)
    result = match_outcome(r1p.header, r2p.header)
    dbrounds.insert_match_sync(
        stx,
        server=ctx.server,
        map_name=r2.map,
        r1_round_id=r1.id,
        r2_round_id=r2.id,
        outcome=result.outcome,
        winner_team=result.winner_team,
        r1_time_s=result.r1_time_s,
        r2_time_s=result.r2_time_s,
        session_id=r2.session_id,
        now=ctx.now,
    )
    outbox.enqueue_sync(
        stx,
        kind=posts.KIND_ROUND,
        channel="stats",
        dedupe_key=f"round:{ctx.server}:{r2.filename}:paired:{r1.filename}",
        payload=posts.round_payload(
            ctx.server, only, status="paired", duration_s=seconds, paired_with=r1.filename, flags=flags
        ),
        now=ctx.now,
    )
    outbox.enqueue_sync(
        stx,
        kind=posts.KIND_MATCH,
        channel="stats",
        dedupe_key=f"match:{ctx.server}:{r1.filename}:{r2.filename}",
        payload=posts.match_payload(
            ctx.server,
            map_name=r2.map,
            r1_file=r1.filename,
            r2_file=r2.filename,
            outcome=result.outcome,
            winner_team=result.winner_team,
            r1_time_s=result.r1_time_s,
            r2_time_s=result.r2_time_s,
            totals=match_totals(r1p, r2p),
        ),
        now=ctx.now,
    )


def _unpair(stx: SyncTx, ctx: PairingContext, r2: RoundRow, *, was_paired: bool) -> None:
    """Store `r2` raw (cumulative values), pending its round 1 or orphan."""
    r2p = ctx.parse(stx, r2)
    if r2.id == ctx.new_id:
        dbrounds.insert_players_sync(stx, r2.id, r2p.players)
    elif was_paired:
        dbrounds.replace_players_sync(stx, r2.id, r2p.players)
    orphan = _no_round1_can_come(stx, ctx, r2)
    _store_unpaired(stx, ctx, r2, r2p, orphan=orphan)


def _store_unpaired(
    stx: SyncTx, ctx: PairingContext, r2: RoundRow, r2p: ParsedRound, *, orphan: bool
) -> None:
    flags = (r2.flag_set | {ORPHAN_FLAG}) if orphan else (r2.flag_set - {ORPHAN_FLAG})
    dbrounds.update_round_sync(
        stx,
        r2.id,
        status="orphan" if orphan else "pending_r1",
        paired_round_id=None,
        duration_s=duration_s(r2p),
        flags=flags,
        player_count=len(r2p.players),
    )
    if orphan and r2.status != "orphan":
        outbox.enqueue_sync(
            stx,
            kind=posts.KIND_ROUND,
            channel="stats",
            dedupe_key=f"round:{ctx.server}:{r2.filename}:orphan",
            payload=posts.round_payload(
                ctx.server, r2p, status="orphan", duration_s=duration_s(r2p), paired_with=None, flags=flags
            ),
            now=ctx.now,
        )


def _no_round1_can_come(stx: SyncTx, ctx: PairingContext, r2: RoundRow) -> bool:
    """A later round 1 of the server exists, or the round 2 is older than the window vs the newest round."""
    latest_r1 = dbrounds.latest_round1_at_sync(stx, ctx.server)
    if latest_r1 is not None and latest_r1 > r2.played_at:
        return True
    newest = dbrounds.newest_played_at_sync(stx, ctx.server)
    return newest is not None and parse_played_at(r2.played_at) < parse_played_at(newest) - ctx.window


def _sweep_pending(stx: SyncTx, ctx: PairingContext) -> None:
    """Round 2s still pending whose round 1 can no longer arrive become orphans (and are posted once)."""
    for r2 in dbrounds.pending_round2_sync(stx, ctx.server):
        if _no_round1_can_come(stx, ctx, r2):
            _store_unpaired(stx, ctx, r2, ctx.parse(stx, r2), orphan=True)
