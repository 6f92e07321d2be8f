"""Best single rounds (/records): most kills, best DPM, fastest objective per map; last import time."""

from __future__ import annotations

from dataclasses import dataclass

from bot.db.connection import SyncTx, as_async

COUNTED = "r.status IN ('r1', 'paired')"
# A DPM record needs this much time played (a 30-second cameo is not a record); the partial expression
# index player_stats_dpm (migration `players`) and round_bests.dpm (migration 0013) hold exactly these
# rows, so the literal must stay 5.
MIN_DPM_MINUTES = 5
_DPM = "CAST(p.damage_given AS REAL) / p.time_played_min"
_DPM_ROWS = f"p.time_played_min >= {MIN_DPM_MINUTES} AND p.damage_given > 0"


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
    """All maps: walks `player_stats_kills` from the top, stopping after `limit` counted rounds. One map:
    the map's `limit` best rounds from `round_bests_kills`, then their player rows."""
    if map_name is not None:
        return _best_of_map(stx, "kills", "p.kills", "", map_name, limit)
    return _best(stx, "p.kills", "p.kills IS NOT NULL", limit)


def best_dpm_sync(stx: SyncTx, *, map_name: str | None = None, limit: int = 3) -> list[PlayerRecord]:
    """Damage / minutes played, rounds of >= 5 minutes: `player_stats_dpm` from the top (all maps), or
    the map's best rounds from `round_bests_dpm` (one map)."""
    if map_name is not None:
        return _best_of_map(stx, "dpm", _DPM, f"AND {_DPM_ROWS}", map_name, limit)
    return _best(stx, _DPM, _DPM_ROWS, limit)


def _best(stx: SyncTx, column: str, where: str, limit: int) -> list[PlayerRecord]:
    # The round's status is checked per row in index order, so the walk stops after `limit` hits; a
    # join would make SQLite scan every round first (a Bloom filter over `rounds`). Equal values are
    # shown earliest round first on both engines (which of several tied at the cut is listed is the
    # index's order: a stated order there would make SQLite read every tie).
    return _records(
        stx,
        f"SELECT {column} AS value, p.player_key, p.clean_name, p.round_id "
        f"FROM player_stats p INDEXED BY {_index(column)} WHERE {where} AND p.guid != 'OMNIBOT0' "
        f"AND (SELECT {COUNTED} FROM rounds r WHERE r.id = p.round_id) ORDER BY {column} DESC LIMIT :limit",
        {"limit": limit},
    )


def _best_of_map(
    stx: SyncTx, best: str, column: str, where: str, map_name: str, limit: int
) -> list[PlayerRecord]:
    # The map's `limit` counted rounds with the highest best (round_bests, migration 0013) hold its
    # `limit` best player rows: any other row is beaten by those rounds' bests. Ties are cut by round
    # id, then player key, so the rows listed are the same on both engines.
    return _records(
        stx,
        f"SELECT {column} AS value, p.player_key, p.clean_name, p.round_id FROM ("
        f"SELECT t.round_id FROM round_bests t INDEXED BY round_bests_{best} "
        f"WHERE t.map = :map AND t.{best} IS NOT NULL "
        f"AND (SELECT {COUNTED} FROM rounds r WHERE r.id = t.round_id) "
        f"ORDER BY t.{best} DESC, t.round_id LIMIT :limit"
        f") t CROSS JOIN player_stats p ON p.round_id = t.round_id WHERE p.guid != 'OMNIBOT0' {where} "
        f"ORDER BY value DESC, p.round_id, p.player_key LIMIT :limit",
        {"map": map_name, "limit": limit},
    )


def _records(stx: SyncTx, best_rows: str, params: dict[str, object]) -> list[PlayerRecord]:
    rows = stx.fetchall(
        "SELECT b.value, b.player_key, b.clean_name, r.map, r.played_at, r.round_number "
        f"FROM ({best_rows}) b JOIN rounds r ON r.id = b.round_id "
        "ORDER BY b.value DESC, r.played_at, b.player_key",
        params,
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
