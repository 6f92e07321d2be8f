"""Player and weapon rows of a round: insert, replace (re-derivation, reprocess), read back."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from bot.db.connection import SyncTx, as_async
from bot.db.rows import PlayerRows, join_flags, player_rows
from bot.stats.model import EXTRA_FIELDS_38, PlayerStats

__all__ = [
    "PlayerRows",
    "insert_player_rows_sync",
    "insert_players",
    "insert_players_sync",
    "join_flags",
    "player_rows",
    "player_values",
    "replace_player_rows_sync",
    "replace_players",
    "replace_players_sync",
    "weapon_values",
]

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


def insert_player_rows_sync(stx: SyncTx, round_id: int, rows: PlayerRows) -> None:
    """Insert prepared player and weapon rows for `round_id` (two executemany statements at most)."""
    if rows.players:
        stx.executemany(_INSERT_PLAYER, [(round_id, *r) for r in rows.players])
    if rows.weapons:
        stx.executemany(_INSERT_WEAPON, [(round_id, *r) for r in rows.weapons])


def insert_players_sync(stx: SyncTx, round_id: int, players: Sequence[PlayerStats]) -> None:
    """Insert a round's players and their weapons (two executemany statements)."""
    if players:
        insert_player_rows_sync(stx, round_id, player_rows(players))


def replace_player_rows_sync(stx: SyncTx, round_id: int, rows: PlayerRows) -> None:
    """Swap a round's players/weapons for prepared rows of another derivation (R2 re-derivation)."""
    stx.execute("DELETE FROM weapon_stats WHERE round_id = ?", (round_id,))
    stx.execute("DELETE FROM player_stats WHERE round_id = ?", (round_id,))
    insert_player_rows_sync(stx, round_id, rows)


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
