"""The "new record / personal best" lines of round, match and session posts.

`notes_sync` reads what the round beat (bot.db.round_notes) right after the round is stored and before
its post is queued; `with_notes` writes them into the (already encoded) payload. A payload queued
without notes keeps `notes: []`; a backfill without posts (`--no-posts`) drops the posts altogether.
`session_notes_sync` sums up what a whole session set (bot.db.session_bests) for the session summary.
"""

from __future__ import annotations

import json

from bot.db.connection import SyncTx
from bot.db.outbox import encode_payload
from bot.db.round_notes import Beaten, RoundBests, round_bests_sync
from bot.db.session_bests import SessionBests, session_bests_sync
from bot.stats.teams import SessionTeams
from bot.stats.times import format_mss

MAX_PERSONAL = 3  # personal-best lines per round or match post (the round's top fraggers first)
MAX_SESSION_NOTES = 6  # lines in a session post, "+N more" included


def notes_of(bests: RoundBests) -> list[str]:
    """Short lines for players, the map's record first, then server records, then personal bests."""
    notes = [] if bests.fastest is None else [_fastest(bests.fastest)]
    if bests.most_kills is not None:
        k = bests.most_kills
        notes.append(f"New server record: {k.name} {int(k.value)} kills in a round (was {int(k.before)})")
    if bests.best_dpm is not None:
        d = bests.best_dpm
        notes.append(f"New server record: {d.name} {d.value:.0f} DPM in a round (was {d.before:.0f})")
    personal = _personal(bests.personal_kills, bests.personal_dpm, bests.most_kills, bests.best_dpm)
    return notes + personal[:MAX_PERSONAL]


def session_notes_of(bests: SessionBests) -> list[str]:
    """What the session set, as its post says it: map records, server records (with the map), personal
    bests; at most MAX_SESSION_NOTES lines, the last one saying how many more there were."""
    notes = [_fastest(f) for f in bests.fastest]
    if bests.most_kills is not None:
        k = bests.most_kills
        notes.append(
            f"New server record: {k.name} {int(k.value)} kills in a round on {k.map} (was {int(k.before)})"
        )
    if bests.best_dpm is not None:
        d = bests.best_dpm
        notes.append(
            f"New server record: {d.name} {d.value:.0f} DPM in a round on {d.map} (was {d.before:.0f})"
        )
    personal = _personal(bests.personal_kills, bests.personal_dpm, bests.most_kills, bests.best_dpm)
    lines = notes + personal
    if len(lines) <= MAX_SESSION_NOTES:
        return lines
    shown = lines[: MAX_SESSION_NOTES - 1]
    rest = len(lines) - len(shown)
    if len(shown) >= len(notes):  # only personal bests left out
        return [*shown, f"+{rest} more personal best{'s' if rest > 1 else ''}"]
    return [*shown, f"+{rest} more"]


def _fastest(f: Beaten) -> str:
    by = f" by {f.name}" if f.name else ""
    return (
        f"New record on {f.map}: fastest attack {format_mss(int(f.value))}{by} "
        f"(was {format_mss(int(f.before))})"
    )


def _personal(
    kills: list[Beaten], dpm: list[Beaten], most_kills: Beaten | None, best_dpm: Beaten | None
) -> list[str]:
    """One line per player (kills and DPM together); a server record's holder is not told twice."""
    said_kills = most_kills.key if most_kills else None
    said_dpm = best_dpm.key if best_dpm else None
    parts: dict[str, tuple[str, list[str]]] = {}
    for b in kills:
        if b.key != said_kills:
            parts.setdefault(b.key, (b.name, []))[1].append(f"{int(b.value)} kills")
    for b in dpm:
        if b.key != said_dpm:
            parts.setdefault(b.key, (b.name, []))[1].append(f"{b.value:.0f} DPM")
    return [f"Personal best: {name} {', '.join(what)}" for name, what in parts.values()]


def notes_sync(stx: SyncTx, round_id: int) -> list[str]:
    bests = round_bests_sync(stx, round_id)
    return [] if bests is None else notes_of(bests)


def session_notes_sync(stx: SyncTx, session_id: int, teams: SessionTeams) -> list[str]:
    bests = session_bests_sync(stx, session_id, teams)
    return [] if bests is None else session_notes_of(bests)


def with_notes(encoded: str, notes: list[str]) -> str:
    """The encoded payload with `notes` set (unchanged bytes when there is none)."""
    if not notes:
        return encoded
    payload = json.loads(encoded)
    payload["notes"] = [*payload.get("notes", []), *notes]
    return encode_payload(payload)
