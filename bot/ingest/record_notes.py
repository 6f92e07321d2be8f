"""The "new record / personal best" lines of a round post, decided once in the import transaction.

`notes_sync` reads what the round beat (bot.db.round_notes) right after the round is stored and before
its post is queued; `with_notes` writes them into the (already encoded) payload. A payload queued
without notes keeps `notes: []`; a backfill without posts (`--no-posts`) drops the posts altogether.
"""

from __future__ import annotations

import json

from bot.db.connection import SyncTx
from bot.db.outbox import encode_payload
from bot.db.round_notes import RoundBests, round_bests_sync
from bot.stats.times import format_mss

MAX_PERSONAL = 3  # personal-best lines per post (the round's top fraggers first)


def notes_of(bests: RoundBests) -> list[str]:
    """Short lines for players, the map's record first, then server records, then personal bests."""
    notes = []
    if bests.fastest is not None:
        f = bests.fastest
        notes.append(
            f"New record on {bests.map}: fastest attack {format_mss(int(f.value))} "
            f"(was {format_mss(int(f.before))})"
        )
    if bests.most_kills is not None:
        k = bests.most_kills
        notes.append(f"New server record: {k.name} {int(k.value)} kills in a round (was {int(k.before)})")
    if bests.best_dpm is not None:
        d = bests.best_dpm
        notes.append(f"New server record: {d.name} {d.value:.0f} DPM in a round (was {d.before:.0f})")
    said_kills = bests.most_kills.key if bests.most_kills else None
    said_dpm = bests.best_dpm.key if bests.best_dpm else None
    parts: dict[str, tuple[str, list[str]]] = {}
    for b in bests.personal_kills:
        if b.key != said_kills:
            parts.setdefault(b.key, (b.name, []))[1].append(f"{int(b.value)} kills")
    for b in bests.personal_dpm:
        if b.key != said_dpm:
            parts.setdefault(b.key, (b.name, []))[1].append(f"{b.value:.0f} DPM")
    for name, what in list(parts.values())[:MAX_PERSONAL]:
        notes.append(f"Personal best: {name} {', '.join(what)}")
    return notes


def notes_sync(stx: SyncTx, round_id: int) -> list[str]:
    bests = round_bests_sync(stx, round_id)
    return [] if bests is None else notes_of(bests)


def with_notes(encoded: str, notes: list[str]) -> str:
    """The encoded payload with `notes` set (unchanged bytes when there is none)."""
    if not notes:
        return encoded
    payload = json.loads(encoded)
    payload["notes"] = [*payload.get("notes", []), *notes]
    return encode_payload(payload)
