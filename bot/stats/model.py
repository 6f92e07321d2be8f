"""Typed records and field tables of the c0rnp0rn round-stats format (STATS_FORMAT.md §5-§8, §13).

Everything here is plain data: frozen slots dataclasses and constant tables. No I/O.
Times from file names are naive datetimes in the game server's local time (the file carries no zone).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import NamedTuple

# §7.1: the 28 weapon slots, bit j of the mask = WEAPON_SLOTS[j] (lower-case, without `WS_`).
WEAPON_SLOTS: tuple[str, ...] = (
    "knife",
    "knife_kbar",
    "luger",
    "colt",
    "mp40",
    "thompson",
    "sten",
    "fg42",
    "panzerfaust",
    "bazooka",
    "flamethrower",
    "grenade",
    "mortar",
    "mortar2",
    "dynamite",
    "airstrike",
    "artillery",
    "satchel",
    "grenadelauncher",
    "landmine",
    "mg42",
    "browning",
    "carbine",
    "kar98",
    "garand",
    "k43",
    "mp34",
    "syringe",
)

# §8.2: the extras of the 38-field generation, by index.
EXTRA_FIELDS_38: tuple[str, ...] = (
    "damage_given",
    "damage_received",
    "team_damage_given",
    "team_damage_received",
    "gibs",
    "self_kills",
    "team_kills",
    "team_gibs",
    "time_played_pct",
    "xp",
    "killing_spree",
    "death_spree",
    "kill_assists",
    "kill_steals",
    "headshot_kills",
    "objectives_stolen",
    "objectives_returned",
    "dynamites_planted",
    "dynamites_defused",
    "times_revived",
    "bullets_fired",
    "dpm",
    "time_played_min",
    "tank_meatshield",
    "time_dead_ratio",
    "time_dead_min",
    "kd_ratio",
    "useful_kills",
    "denied_playtime",
    "multikill_2",
    "multikill_3",
    "multikill_4",
    "multikill_5",
    "multikill_6",
    "useless_kills",
    "full_selfkills",
    "repairs_constructions",
    "revives_given",
)

# §8.1: the index map of each generation, chosen by field count (never by date).
EXTRA_FIELDS_BY_COUNT: dict[int, tuple[str, ...]] = {
    33: (*EXTRA_FIELDS_38[:28], "multikill_2", "multikill_3", "multikill_4", "multikill_5", "multikill_6"),
    36: EXTRA_FIELDS_38[:36],
    37: EXTRA_FIELDS_38[:37],
    38: EXTRA_FIELDS_38,
}

# Extras printed with `%0.1f`; every other extra is an integer.
FLOAT_EXTRAS: frozenset[str] = frozenset(
    {
        "time_played_pct",
        "dpm",
        "time_played_min",
        "tank_meatshield",
        "time_dead_ratio",
        "time_dead_min",
        "kd_ratio",
    }
)

# §8.2 column "R2 value" = cum: engine counters, R1+R2 totals in a round-2 file.
CUMULATIVE_EXTRAS: frozenset[str] = frozenset(
    {
        "damage_given",
        "damage_received",
        "team_damage_given",
        "team_damage_received",
        "gibs",
        "self_kills",
        "team_kills",
        "team_gibs",
        "bullets_fired",
        "time_played_min",
    }
)

# Ratios recomputed from differenced inputs for round-2-only values (§9.2 step 2, 6).
RECOMPUTED_EXTRAS: frozenset[str] = frozenset(
    {"time_played_pct", "tank_meatshield", "time_dead_ratio", "kd_ratio"}
)

BOT_GUID = "OMNIBOT0"


class Team(int, Enum):
    """TEAM field of a player line (§6.1)."""

    FREE = 0
    AXIS = 1
    ALLIES = 2
    SPECTATOR = 3


class FileKind(StrEnum):
    """What a valid file name in the stats directory holds (§2, §3)."""

    STATS = "stats"
    ENDSTATS = "endstats"
    WEAPON_STATS = "ws"


class RoundStatus(StrEnum):
    """How a round relates to its pair; stored in `rounds.status`."""

    ROUND1 = "r1"  # a round 1 (paired or not: see `paired_with`)
    PAIRED = "paired"  # a round 2 whose values are round-2-only (§9.2)
    PENDING_R1 = "pending_r1"  # a round 2 stored raw, waiting for its round 1 (backfill order)
    ORPHAN = "orphan"  # a round 2 whose round 1 never came: raw cumulative values, flagged


@dataclass(frozen=True, slots=True)
class StatsFileName:
    """A parsed file name (§3): `YYYY-MM-DD-HHMMSS-<map>-round-<N>[-endstats|_ws].txt`."""

    filename: str
    played_at: dt.datetime  # naive, server-local: when the file was written (≈ round end)
    map: str
    round_number: int
    kind: FileKind

    @property
    def stem(self) -> str:
        """The name of the stats file this one belongs to (itself for a stats file)."""
        return f"{self.played_at:%Y-%m-%d-%H%M%S}-{self.map}-round-{self.round_number}.txt"


@dataclass(frozen=True, slots=True)
class Header:
    """Line 1 of a stats file (§5). Times are whole seconds; None = absent or unusable."""

    server_name: str
    map: str
    config: str
    round_number: int
    defender: int  # 1 Axis, 2 Allies (1 may also mean unknown)
    winner: int  # 1 Axis, 2 Allies, 0 none
    time_limit_raw: str  # field 6 exactly as written (pairing compares it byte for byte)
    next_time_limit_raw: str  # field 7 exactly as written
    time_limit_s: int | None
    next_time_limit_s: int | None
    duration_ms: int | None  # field 8 (9-field files), normalised to ms; None if absent or <= 0
    field_count: int  # 8 or 9


class WeaponStats(NamedTuple):
    """One set bit of the weapon block (§7): the five engine numbers for a slot.

    A NamedTuple, unlike the other records: ~45 of these are built per file on the parse hot path
    (and again by the round-2 differential), where a frozen dataclass costs ~3x as much to construct.
    Read it by attribute; it is immutable like the rest.
    """

    weapon: str
    hits: int
    shots: int
    kills: int
    deaths: int
    headshots: int


# `WeaponStats._make` without its Python-level frame (same result: tuple.__new__ of the class), for
# the parse and differential hot paths: (slot, hits, shots, kills, deaths, headshots) → WeaponStats.
make_weapon: Callable[[tuple[str, int, int, int, int, int]], WeaponStats] = functools.partial(
    tuple.__new__, WeaponStats
)


@dataclass(frozen=True, slots=True)
class PlayerStats:
    """One player line. For a paired round 2 built by the differential, values are round-2-only."""

    guid: str
    name: str  # raw, with colour codes
    clean_name: str  # colour codes stripped by the engine rule (§12 B20)
    rounds: int  # sess.rounds: a consistency signal, never a round number (§6.1)
    team: int
    kills: int  # Σ weapon kills (§7.2)
    deaths: int
    shots: int
    hits: int
    headshot_hits: int  # Σ weapon headshots: head hits, not headshot kills (§12 B14)
    weapons: tuple[WeaponStats, ...]
    extras: Mapping[str, int | float]  # §8.2 names present in this generation
    line: int  # 1-based line number in the file it came from
    flags: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        """Identity within a round: the GUID, or the name for omni-bots who share one GUID (§12 B21)."""
        return f"{BOT_GUID}:{self.clean_name}" if self.guid == BOT_GUID else self.guid

    @property
    def is_bot(self) -> bool:
        return self.guid == BOT_GUID


@dataclass(frozen=True, slots=True)
class ParsedRound:
    """A whole stats file, validated (§14)."""

    name: StatsFileName
    header: Header
    players: tuple[PlayerStats, ...]
    extras_fields: int | None  # 33/36/37/38; None for a header-only file
    flags: frozenset[str] = frozenset()  # round-level anomaly flags (see bot.stats.anomalies)

    @property
    def filename(self) -> str:
        return self.name.filename


@dataclass(frozen=True, slots=True)
class Award:
    """An endstats award line (§13): `award TAB player TAB value`."""

    award: str
    player: str
    value: str
    line: int


@dataclass(frozen=True, slots=True)
class VersusLine:
    """An endstats versus line: kills on / deaths to one opponent, inside a player's block."""

    player: str | None  # block owner when a VS_HEADER named it, else None (older files)
    player_guid: str | None
    opponent: str
    kills: int
    deaths: int
    line: int


@dataclass(frozen=True, slots=True)
class EndStats:
    """A parsed `…-round-N-endstats.txt` companion file (§13)."""

    name: StatsFileName
    awards: tuple[Award, ...]
    versus: tuple[VersusLine, ...]


@dataclass(frozen=True, slots=True)
class RoundRef:
    """What pairing needs to know of one stats file (§10); build it cheaply from a ParsedRound or a DB row."""

    filename: str
    played_at: dt.datetime
    map: str
    round_number: int
    time_limit_raw: str
    next_time_limit_raw: str
    pairable: bool = True  # False for files that must not be paired (e.g. shutdown-path R2, §12 B11)


@dataclass(frozen=True, slots=True)
class Pairing:
    """The outcome of pairing a set of files: R2 filename → R1 filename, plus what stayed alone."""

    pairs: Mapping[str, str] = field(default_factory=dict)
    orphan_round2: frozenset[str] = frozenset()
    lone_round1: frozenset[str] = frozenset()
