"""What each player command shows, read in ONE call on the read thread (one hop per command).

The slash commands, their CLI twins (`statsbot player`, `statsbot leaderboard`) and
bench/chat_queries.py all go through these functions, so the benchmark times what players wait for.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.db import maps, records
from bot.db import player_boards as boards
from bot.db import player_lookup as lookup
from bot.db.connection import SyncTx, as_async
from bot.db.player_boards import DayLine, MapLine, Totals, WeaponLine, WinLoss
from bot.db.player_lookup import Alias, PlayerRef
from bot.db.records import FastestRound, PlayerRecord

FAVOURITE_MIN_ROUNDS = 5  # a map counts for "best results" after this many rounds on it


@dataclass(frozen=True, slots=True)
class PlayerCard:
    player: PlayerRef
    totals: Totals | None  # None: no rounds in the period
    aliases: list[Alias]
    weapons: list[WeaponLine]
    maps: list[MapLine]  # most played first
    days: list[DayLine]  # the last days played, oldest first
    linked: list[int]  # Discord members linked to the player
    # Maps won/lost/drawn in the period, over DERIVED sessions only (the open session counts once it
    # is summarised); None: no decided map.
    record: WinLoss | None = None

    @property
    def best_map(self) -> MapLine | None:
        """Best K/D among maps with at least FAVOURITE_MIN_ROUNDS rounds."""
        played = [m for m in self.maps if m.totals.rounds >= FAVOURITE_MIN_ROUNDS]
        return max(played, key=lambda m: (m.totals.kd, m.totals.rounds), default=None)


@dataclass(frozen=True, slots=True)
class MapsView:
    player: PlayerRef | None
    map: str | None
    player_maps: list[MapLine]  # the player's maps (or the one map)
    overview: list[tuple[str, int, int, int, str]]  # every map, without a player
    board: boards.Board | None  # best K/D on the map, without a player


@dataclass(frozen=True, slots=True)
class Records:
    map: str | None
    kills: list[PlayerRecord]
    dpm: list[PlayerRecord]
    fastest: list[FastestRound]


def card_sync(stx: SyncTx, player: PlayerRef, *, since_day: str | None = None, days: int = 30) -> PlayerCard:
    """Everything /stats shows about one player (totals of the period; the rest all time)."""
    key = player.key
    return PlayerCard(
        player=player,
        totals=boards.totals_sync(stx, key, since_day=since_day),
        aliases=lookup.aliases_sync(stx, key, limit=6),
        weapons=boards.weapons_sync(stx, key, limit=3),
        maps=boards.maps_sync(stx, key),
        days=boards.days_sync(stx, key, limit=days),
        linked=lookup.linked_members_sync(stx, player.guid),
        record=boards.win_loss_sync(stx, key, since_day=since_day),
    )


def find_card_sync(stx: SyncTx, text: str, *, since_day: str | None = None) -> PlayerCard | None:
    """`statsbot player NAME` and /stats with a name: lookup by any alias, then the card."""
    found = lookup.find_player_sync(stx, text)
    return None if found is None else card_sync(stx, found, since_day=since_day)


def compare_sync(
    stx: SyncTx, a: PlayerRef, b: PlayerRef, *, since_day: str | None = None
) -> tuple[PlayerCard, PlayerCard]:
    return card_sync(stx, a, since_day=since_day), card_sync(stx, b, since_day=since_day)


def maps_view_sync(
    stx: SyncTx, player: PlayerRef | None, map_name: str | None, *, min_rounds: int = FAVOURITE_MIN_ROUNDS
) -> MapsView:
    if player is not None:
        lines = boards.maps_sync(stx, player.key)
        if map_name is not None:
            lines = [m for m in lines if m.map == map_name]
        return MapsView(player, map_name, lines, [], None)
    if map_name is not None:
        board = boards.board_sync(stx, "kd", min_rounds=min_rounds, map_name=map_name)
        overview = [row for row in maps.map_overview_sync(stx) if row[0] == map_name]
        return MapsView(None, map_name, [], overview, board)
    return MapsView(None, None, [], maps.map_overview_sync(stx), None)


def records_sync(stx: SyncTx, map_name: str | None = None) -> Records:
    return Records(
        map_name,
        records.most_kills_sync(stx, map_name=map_name),
        records.best_dpm_sync(stx, map_name=map_name),
        records.fastest_sync(stx, map_name=map_name)[: 1 if map_name else 10],
    )


card = as_async(card_sync)
find_card = as_async(find_card_sync)
compare = as_async(compare_sync)
maps_view = as_async(maps_view_sync)
records_view = as_async(records_sync)
