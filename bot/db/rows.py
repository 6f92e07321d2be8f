"""Plain row values of a parsed round (pure, no SQL): cheap to pickle, so a worker process can make them."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.stats.model import EXTRA_FIELDS_38, ParsedRound, PlayerStats

PLAYED_AT_FORMAT = "%Y-%m-%d %H:%M:%S"  # sortable text, the game server's local time (no zone)


def played_at_text(value: dt.datetime) -> str:
    return value.strftime(PLAYED_AT_FORMAT)


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


@dataclass(frozen=True, slots=True)
class PlayerRows:
    """A round's player_stats and weapon_stats rows without their round id: plain tuples, cheap to pickle
    (a worker process builds them) and written with one executemany per table."""

    players: tuple[tuple[object, ...], ...]
    weapons: tuple[tuple[object, ...], ...]

    def __len__(self) -> int:
        return len(self.players)


def player_rows(players: Sequence[PlayerStats]) -> PlayerRows:
    """The rows `insert_player_rows_sync` writes for these players (pure: no SQL)."""
    keys = _unique_keys(players)
    rows: list[tuple[object, ...]] = []
    weapons: list[tuple[object, ...]] = []
    for key, p in zip(keys, players, strict=True):
        get = p.extras.get
        rows.append(
            (key, p.guid, p.name, p.clean_name, p.team, p.rounds, p.kills, p.deaths, p.shots, p.hits,
             p.headshot_hits, *map(get, EXTRA_FIELDS_38), join_flags(p.flags))
        )  # fmt: skip
        guid = p.guid
        weapons += [(key, guid, w.weapon, w.hits, w.shots, w.kills, w.deaths, w.headshots) for w in p.weapons]
    return PlayerRows(tuple(rows), tuple(weapons))


@dataclass(frozen=True, slots=True)
class RoundValues:
    """The rounds columns that come from the file itself, as plain values (a worker process makes them)."""

    filename: str
    map: str
    round_number: int
    played_at: str  # PLAYED_AT_FORMAT
    header: tuple[object, ...]  # server_name … duration_ms, in _INSERT_ROUND's order
    extras_fields: int | None
    flags: str  # join_flags of the round's flags

    @property
    def time_limit_raw(self) -> str:
        return str(self.header[4])

    @property
    def next_time_limit_raw(self) -> str:
        return str(self.header[5])


def round_values(parsed: ParsedRound) -> RoundValues:
    h = parsed.header
    header = (
        h.server_name, h.config, h.defender, h.winner, h.time_limit_raw, h.next_time_limit_raw,
        h.time_limit_s, h.next_time_limit_s, h.duration_ms,
    )  # fmt: skip
    return RoundValues(
        parsed.filename, parsed.name.map, parsed.name.round_number, played_at_text(parsed.name.played_at),
        header, parsed.extras_fields, join_flags(parsed.flags),
    )  # fmt: skip


def compress_raw(raw: bytes) -> bytes:
    """The stored form of a file's bytes (`raw_content_sync` undoes it)."""
    # Level 1: half the time of the default level for ~10 % more bytes on these small text files.
    return zlib.compress(raw, 1)
