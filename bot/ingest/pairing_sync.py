"""Store a new round and keep R1/R2 pairs equal to pair_rounds over all of a server's files, any order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping

from bot.db import files, outbox
from bot.db import rounds as dbrounds
from bot.db.connection import SyncTx
from bot.db.rounds import RoundRow, parse_played_at
from bot.db.rows import PlayerRows
from bot.db.session_teams import mark_stale_sync
from bot.db.sessions import attach_round_sync
from bot.ingest import posts
from bot.ingest.pairing_context import BatchState, PairingContext, ref_of
from bot.ingest.prepared import ORPHAN_FLAG, PreparedRound, parse_cached
from bot.ingest.record_notes import notes_sync, with_notes
from bot.stats.pairing import pair_rounds

__all__ = [
    "ORPHAN_FLAG",
    "BatchState",
    "PairingContext",
    "orphan_stale_pending_sync",
    "parse_cached",
    "ref_of",
    "round1_listed",
    "store_round",
    "sync_pairs",
]

_NO_PLAYERS = PlayerRows((), ())
_STAMP_FORMAT = "%Y-%m-%d-%H%M%S"
_STAMP_EXAMPLE = "2025-10-02-232339"


def _round_subject(server: str, filename: str) -> str:
    """What a round 2's posts are about (outbox.subject): a later post of it corrects the first one."""
    return f"round:{server}:{filename}"


def _match_subject(server: str, round2_file: str) -> str:
    """A match is about its round 2 (in at most one match at a time; its round 1 may change)."""
    return f"match:{server}:{round2_file}"


def store_round(
    stx: SyncTx,
    prepared: PreparedRound,
    data: bytes,
    server: str,
    sha256: str,
    *,
    now: float,
    session_gap: float,
    window: dt.timedelta,
    batch: BatchState,
) -> int:
    """Insert a new round into its session, queue the R1 post, then re-pair its neighbourhood."""
    v = prepared.values
    session_id = attach_round_sync(stx, server, v.played_at, gap_seconds=session_gap, now=now)
    is_r1 = v.round_number == 1
    status = "r1" if is_r1 else "pending_r1"
    round_id = dbrounds.insert_round_sync(
        stx,
        server=server,
        values=v,
        players=prepared.players if is_r1 else _NO_PLAYERS,  # round 2 players: written by the pairing step
        sha256=sha256,
        raw_compressed=prepared.raw_compressed,
        status=status,
        duration_s=prepared.duration_s if is_r1 else None,
        pairable=prepared.pairable,
        session_id=session_id,
        now=now,
    )
    batch.fresh[round_id] = (prepared, data)
    if is_r1 and prepared.r1_post is not None:
        outbox.enqueue_encoded_sync(
            stx,
            kind=posts.KIND_ROUND,
            channel="stats",
            dedupe_key=f"round:{server}:{v.filename}",
            payload=with_notes(prepared.r1_post, notes_sync(stx, round_id) if batch.notes else []),
            now=now,
        )
    new_row = RoundRow(
        round_id, server, v.filename, sha256, v.map, v.round_number, v.played_at, v.time_limit_raw,
        v.next_time_limit_raw, status, None, session_id, prepared.pairable, v.flags,
    )  # fmt: skip
    sync_pairs(stx, PairingContext(server, round_id, window, now, batch, v.filename), new_row)
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
        _note_earlier_file(stx, ctx, r2, want)
    _sweep_pending(stx, ctx)


def _note_earlier_file(stx: SyncTx, ctx: PairingContext, r2: RoundRow, r1: RoundRow | None) -> None:
    """A round 2 stored earlier changed partner because of the new file: its values changed (raw ⇄
    round-2-only), so its journey (`statsbot explain`) says when and why. A round 1's own values never
    change with its pairing: its round row shows the partner."""
    if r2.id == ctx.new_id:
        return
    cause = {"because_of": ctx.new_filename} if ctx.new_filename else {}
    if r1 is not None:
        files.add_event_sync(
            stx, ctx.server, r2.filename, "paired", {"round1": r1.filename, **cause}, ctx.now
        )
    else:
        files.add_event_sync(stx, ctx.server, r2.filename, "unpaired", cause, ctx.now)


def _pair(stx: SyncTx, ctx: PairingContext, r1: RoundRow, r2: RoundRow) -> None:
    """Store `r2` as round-2-only values against `r1`, write the match, queue the R2 and match posts."""
    flags = r2.flag_set - {ORPHAN_FLAG}
    work = ctx.pair_work(stx, r1, r2, flags)
    if r2.id == ctx.new_id:
        dbrounds.insert_player_rows_sync(stx, r2.id, work.players)
    else:
        dbrounds.replace_player_rows_sync(stx, r2.id, work.players)
    dbrounds.update_round_sync(
        stx,
        r2.id,
        status="paired",
        paired_round_id=r1.id,
        duration_s=work.duration_s,
        flags=flags,
        player_count=len(work.players),
    )
    dbrounds.set_partner_sync(stx, r1.id, r2.id)
    dbrounds.insert_match_sync(
        stx,
        server=ctx.server,
        map_name=r2.map,
        r1_round_id=r1.id,
        r2_round_id=r2.id,
        outcome=work.outcome,
        winner_team=work.winner_team,
        r1_time_s=work.r1_time_s,
        r2_time_s=work.r2_time_s,
        session_id=r2.session_id,
        now=ctx.now,
    )
    r2_notes = notes_sync(stx, r2.id) if ctx.batch.notes else []
    # The match post (the default `posts = "matches"` shows no round posts) carries both rounds' notes.
    match_notes = list(dict.fromkeys([*notes_sync(stx, r1.id), *r2_notes])) if ctx.batch.notes else []
    outbox.enqueue_encoded_sync(
        stx,
        kind=posts.KIND_ROUND,
        channel="stats",
        dedupe_key=f"round:{ctx.server}:{r2.filename}:paired:{r1.filename}",
        payload=with_notes(work.round_post, r2_notes),
        now=ctx.now,
        subject=_round_subject(ctx.server, r2.filename),
    )
    outbox.enqueue_encoded_sync(
        stx,
        kind=posts.KIND_MATCH,
        channel="stats",
        dedupe_key=f"match:{ctx.server}:{r1.filename}:{r2.filename}",
        payload=with_notes(work.match_post, match_notes),
        now=ctx.now,
        subject=_match_subject(ctx.server, r2.filename),
    )


def _unpair(stx: SyncTx, ctx: PairingContext, r2: RoundRow, *, was_paired: bool) -> None:
    """Store `r2` raw (cumulative values), pending its round 1 or orphan."""
    if r2.id == ctx.new_id:
        dbrounds.insert_player_rows_sync(stx, r2.id, ctx.raw_players(stx, r2))
    elif was_paired:
        dbrounds.replace_player_rows_sync(stx, r2.id, ctx.raw_players(stx, r2))
    orphan = _no_round1_can_come(stx, ctx, r2)
    _store_unpaired(stx, ctx, r2, orphan=orphan)


def _store_unpaired(stx: SyncTx, ctx: PairingContext, r2: RoundRow, *, orphan: bool) -> None:
    flags = (r2.flag_set | {ORPHAN_FLAG}) if orphan else (r2.flag_set - {ORPHAN_FLAG})
    seconds = ctx.own_duration(stx, r2)
    mark_stale_sync(stx, r2.session_id)  # an orphan may decide a map: the session's teams change
    fresh = ctx.batch.fresh.get(r2.id)
    dbrounds.update_round_sync(
        stx,
        r2.id,
        status="orphan" if orphan else "pending_r1",
        paired_round_id=None,
        duration_s=seconds,
        flags=flags,
        player_count=fresh[0].player_count if fresh is not None else len(ctx.parse(stx, r2).players),
    )
    if orphan and r2.status != "orphan":
        if r2.id != ctx.new_id:  # the new file's own import event already says where it ended
            # A later file showed its round 1 cannot come any more (or, without one, the wall clock did).
            cause = (
                {"because_of": ctx.new_filename} if ctx.new_filename else {"because_of": "pending too long"}
            )
            files.add_event_sync(stx, ctx.server, r2.filename, "orphaned", cause, ctx.now)
        r2p = ctx.parse(stx, r2)
        outbox.enqueue_sync(
            stx,
            kind=posts.KIND_ROUND,
            channel="stats",
            dedupe_key=f"round:{ctx.server}:{r2.filename}:orphan",
            payload=posts.round_payload(
                ctx.server, r2p, status="orphan", duration_s=seconds, paired_with=None, flags=flags
            ),
            now=ctx.now,
            subject=_round_subject(ctx.server, r2.filename),
        )


def round1_listed(
    awaited: Mapping[str, Collection[str]], r2: RoundRow, window: dt.timedelta, *, besides: str = ""
) -> bool:
    """Whether a round 1 file still to be imported (`awaited`: names by map) may be `r2`'s round 1: of
    its map, earlier and within the window, by name (its header is only known once it is imported)."""
    names = awaited.get(r2.map)
    if not names:
        return False
    played_at = parse_played_at(r2.played_at)
    # File names start with the time as YYYY-MM-DD-HHMMSS, which sorts like the time itself.
    earliest = (played_at - window).strftime(_STAMP_FORMAT)
    latest = played_at.strftime(_STAMP_FORMAT)
    for name in names:
        stamp = name.rsplit("/", 1)[-1][: len(_STAMP_EXAMPLE)]
        if earliest <= stamp < latest and name != besides:
            return True
    return False


def _no_round1_can_come(stx: SyncTx, ctx: PairingContext, r2: RoundRow) -> bool:
    """A later round 1 of the server exists, or the round 2 is older than the window vs the newest round;
    never while a round 1 that may be its own is listed on the server and not imported yet."""
    if round1_listed(ctx.batch.awaited.get(ctx.server, {}), r2, ctx.window, besides=ctx.new_filename):
        return False
    latest_r1 = dbrounds.latest_round1_at_sync(stx, ctx.server)
    if latest_r1 is not None and latest_r1 > r2.played_at:
        return True
    newest = dbrounds.newest_played_at_sync(stx, ctx.server)
    return newest is not None and parse_played_at(r2.played_at) < parse_played_at(newest) - ctx.window


def orphan_stale_pending_sync(
    stx: SyncTx,
    *,
    imported_before: float,
    now: float,
    window: dt.timedelta = dt.timedelta(0),
    awaited: Mapping[str, Mapping[str, Collection[str]]] | None = None,
) -> list[RoundRow]:
    """Round 2s pending since before `imported_before` (epoch) become orphans, each posted once.

    On a quiet server no later round comes to show that a round 1 cannot arrive any more, so the
    import-time sweep never fires; this is the wall-clock one. A round 1 that still arrives later
    pairs with the orphan as usual (sync_pairs re-pairs orphans too). A round 2 whose round 1 may be
    among the `awaited` files of its server (listed, not imported yet) keeps waiting.
    """
    awaited = awaited or {}
    stale = [
        r2
        for r2 in dbrounds.stale_pending_round2_sync(stx, imported_before=imported_before)
        if not round1_listed(awaited.get(r2.server, {}), r2, window)
    ]
    batch = BatchState()
    for r2 in stale:
        _store_unpaired(stx, PairingContext(r2.server, 0, dt.timedelta(0), now, batch), r2, orphan=True)
    return stale


def _sweep_pending(stx: SyncTx, ctx: PairingContext) -> None:
    """Round 2s still pending whose round 1 can no longer arrive become orphans (and are posted once)."""
    for r2 in dbrounds.pending_round2_sync(stx, ctx.server):
        if _no_round1_can_come(stx, ctx, r2):
            _store_unpaired(stx, ctx, r2, orphan=True)
