"""Best single rounds (/records): most kills, best DPM, fastest objective per map; last import time."""

from __future__ import annotations

from dataclasses import dataclass

from bot.db.connection import SyncTx, as_async

COUNTED = "r.status IN ('r1', 'paired')"
# A DPM record needs this much time played (a 30-second cameo is not a record); the partial expression
# index player_stats_dpm (migration `players`) holds exactly these rows, so the literal must stay 5.
MIN_DPM_MINUTES = 5
_DPM = "CAST(p.damage_given AS REAL) / p.time_played_min"


@dataclass(frozen=True, slots=True)
class PlayerRecord:
    value: float
    key: str
    name: str
    map: str
    played_at: str
    round_number: int


@dataclass(frozen=True, slots=True)
class FastestRound:
    map: str
    seconds: int
    played_at: str
    round_number: int


def most_kills_sync(stx: SyncTx, *, map_name: str | None = None, limit: int = 3) -> list[PlayerRecord]:
    """Walks `player_stats_kills` from the top: stops after `limit` counted rounds (of the map)."""
    return _best(stx, "p.kills", "p.kills IS NOT NULL", map_name, limit)


def best_dpm_sync(stx: SyncTx, *, map_name: str | None = None, limit: int = 3) -> list[PlayerRecord]:
    """Walks `player_stats_dpm` (damage / minutes played, rounds of >= 5 minutes) from the top."""
    return _best(stx, _DPM, f"p.time_played_min >= {MIN_DPM_MINUTES} AND p.damage_given > 0", map_name, limit)


def _best(stx: SyncTx, column: str, where: str, map_name: str | None, limit: int) -> list[PlayerRecord]:
    # The round's status (and map) is checked per row in index order, so the walk stops after `limit`
    # hits; a join would make SQLite scan every round first (a Bloom filter over `rounds`). Equal values
    # are shown earliest round first on both engines (which of several tied at the cut is listed is the
    # index's order: a stated order there would make SQLite read every tie).
    rows = stx.fetchall(
        f"SELECT b.value, b.player_key, b.clean_name, r.map, r.played_at, r.round_number FROM ("
        f"SELECT {column} AS value, p.player_key, p.clean_name, p.round_id "
        f"FROM player_stats p INDEXED BY {_index(column)} WHERE {where} AND p.guid != 'OMNIBOT0' "
        "AND (SELECT r.status IN ('r1', 'paired') AND (CAST(:map AS TEXT) IS NULL OR r.map = :map) "
        f"FROM rounds r WHERE r.id = p.round_id) ORDER BY {column} DESC LIMIT :limit"
        ") b JOIN rounds r ON r.id = b.round_id ORDER BY b.value DESC, r.played_at, b.player_key",
        {"map": map_name, "limit": limit},
    )
    return [PlayerRecord(float(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5])) for r in rows]


def _index(column: str) -> str:
    return "player_stats_kills" if column == "p.kills" else "player_stats_dpm"


def fastest_sync(stx: SyncTx, *, map_name: str | None = None) -> list[FastestRound]:
    """Per map (or for one map), the shortest round the attackers won: one index seek per map."""
    maps = [map_name] if map_name else [str(r[0]) for r in stx.fetchall("SELECT map FROM map_totals")]
    found: list[FastestRound] = []
    for name in maps:
        r = stx.fetchone(
            "SELECT r.map, r.duration_s, r.played_at, r.round_number FROM rounds r "
            f"WHERE r.map = ? AND r.winner != r.defender AND r.duration_s > 0 AND {COUNTED} "
            "ORDER BY r.duration_s LIMIT 1",
            (name,),
        )
        if r is not None:
            found.append(FastestRound(str(r[0]), int(r[1]), str(r[2]), int(r[3])))
    return sorted(found, key=lambda f: (f.seconds, f.map))


def last_import_sync(stx: SyncTx, server: str | None = None) -> tuple[str, float] | None:
    """(played_at, imported_at epoch) of the round imported last (of a server): the newest id."""
    where, params = ("WHERE server = ?", (server,)) if server else ("", ())
    r = stx.fetchone(f"SELECT played_at, imported_at FROM rounds {where} ORDER BY id DESC LIMIT 1", params)
    return None if r is None else (str(r[0]), float(r[1]))


most_kills = as_async(most_kills_sync)
best_dpm = as_async(best_dpm_sync)
fastest = as_async(fastest_sync)
last_import = as_async(last_import_sync)
