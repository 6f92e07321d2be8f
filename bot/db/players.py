"""Player and weapon rows of a round: insert, replace (re-derivation, reprocess), read back."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from bot.db.connection import SyncTx, as_async
from bot.stats.model import EXTRA_FIELDS_38, PlayerStats

_PLAYER_COLUMNS = (
    "round_id",
    "player_key",
    "guid",
    "name",
    "clean_name",
    "team",
    "rounds",
    "kills",
    "deaths",
    "shots",
    "hits",
    "headshot_hits",
    *EXTRA_FIELDS_38,
    "flags",
)
_INSERT_PLAYER = (
    f"INSERT INTO player_stats({', '.join(_PLAYER_COLUMNS)}) VALUES ({', '.join('?' * len(_PLAYER_COLUMNS))})"
)
_INSERT_WEAPON = (
    "INSERT INTO weapon_stats(round_id, player_key, guid, weapon, hits, shots, kills, deaths, headshots) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def join_flags(flags: Iterable[str]) -> str:
    return ",".join(sorted(set(flags)))


def _unique_keys(players: Sequence[PlayerStats]) -> list[str]:
    # Two lines can share a key (two clients with the same GUID8, two bots with one name): keep both,
    # the later one keyed by its line number, rather than failing the whole import on the primary key.
    seen: set[str] = set()
    keys: list[str] = []
    for p in players:
        key = p.key if p.key not in seen else f"{p.key}#{p.line}"
        seen.add(key)
        keys.append(key)
    return keys


def insert_players_sync(stx: SyncTx, round_id: int, players: Sequence[PlayerStats]) -> None:
    """Insert a round's players and their weapons (two executemany statements)."""
    if not players:
        return
    keys = _unique_keys(players)
    stx.executemany(
        _INSERT_PLAYER,
        [
            (
                round_id,
                key,
                p.guid,
                p.name,
                p.clean_name,
                p.team,
                p.rounds,
                p.kills,
                p.deaths,
                p.shots,
                p.hits,
                p.headshot_hits,
                *(p.extras.get(name) for name in EXTRA_FIELDS_38),
                join_flags(p.flags),
            )
            for key, p in zip(keys, players, strict=True)
        ],
    )
    weapons = [
        (round_id, key, p.guid, w.weapon, w.hits, w.shots, w.kills, w.deaths, w.headshots)
        for key, p in zip(keys, players, strict=True)
        for w in p.weapons
    ]
    if weapons:
        stx.executemany(_INSERT_WEAPON, weapons)


def replace_players_sync(stx: SyncTx, round_id: int, players: Sequence[PlayerStats]) -> None:
    """Swap a round's players/weapons for another derivation (R2 re-derivation, reprocess)."""
    stx.execute("DELETE FROM weapon_stats WHERE round_id = ?", (round_id,))
    stx.execute("DELETE FROM player_stats WHERE round_id = ?", (round_id,))
    insert_players_sync(stx, round_id, players)


def player_values_sync(stx: SyncTx, round_id: int) -> list[sqlite3.Row]:
    """A round's stored player rows (all columns), by player key: what the round holds now."""
    return stx.fetchall("SELECT * FROM player_stats WHERE round_id = ? ORDER BY player_key", (round_id,))


def weapon_values_sync(stx: SyncTx, round_id: int) -> list[sqlite3.Row]:
    """A round's stored weapon rows, by player key and weapon."""
    return stx.fetchall(
        "SELECT * FROM weapon_stats WHERE round_id = ? ORDER BY player_key, weapon", (round_id,)
    )


insert_players = as_async(insert_players_sync)
replace_players = as_async(replace_players_sync)
player_values = as_async(player_values_sync)
weapon_values = as_async(weapon_values_sync)
