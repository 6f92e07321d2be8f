"""Maps: every map's counted rounds (`map_totals`), a map name as stored, map names for autocomplete."""

from __future__ import annotations

from bot.db.connection import SyncTx, as_async
from bot.stats.matching import like_escape


def map_overview_sync(stx: SyncTx) -> list[tuple[str, int, int, int, str]]:
    """(map, rounds, seconds, held, last played) of every map, most played first."""
    rows = stx.fetchall(
        "SELECT map, rounds, seconds, held, last_played FROM map_totals ORDER BY rounds DESC, map"
    )
    return [(str(r[0]), int(r[1]), int(r[2]), int(r[3]), str(r[4])) for r in rows]


def known_map_sync(stx: SyncTx, name: str) -> str | None:
    """The stored spelling of a map name (case-insensitive), or None."""
    r = stx.fetchone(
        "SELECT map FROM map_totals WHERE map = ? OR lower(map) = lower(?) LIMIT 1", (name, name)
    )
    return None if r is None else str(r[0])


def map_names_sync(stx: SyncTx, text: str, *, limit: int = 25) -> list[str]:
    rows = stx.fetchall(
        "SELECT map FROM map_totals WHERE map LIKE ? ESCAPE '\\' ORDER BY rounds DESC LIMIT ?",
        (f"%{like_escape(text)}%", limit),
    )
    return [str(r[0]) for r in rows]


map_overview = as_async(map_overview_sync)
known_map = as_async(known_map_sync)
map_names = as_async(map_names_sync)
