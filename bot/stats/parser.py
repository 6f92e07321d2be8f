"""The round-stats reader (STATS_FORMAT.md §4-§8, §14): bytes in, a validated ParsedRound out."""

from __future__ import annotations

import dataclasses
import operator
import re

from bot.errors import IncompleteFileError, ParseError
from bot.stats import anomalies
from bot.stats.colors import strip_colors
from bot.stats.endstats import parse_endstats
from bot.stats.model import (
    EXTRA_FIELDS_BY_COUNT,
    FLOAT_EXTRAS,
    WEAPON_SLOTS,
    FileKind,
    Header,
    ParsedRound,
    PlayerStats,
    StatsFileName,
    WeaponStats,
)
from bot.stats.names import parse_filename
from bot.stats.text import decode, split_lines, text_field
from bot.stats.times import parse_duration_ms, parse_time

__all__ = ["parse_endstats", "parse_round"]

_MAX_MASK = 1 << 28
_GUID_RE = re.compile(r"[0-9A-Fa-f]{8}|OMNIBOT0")
_TEAMS = {"0": 0, "1": 1, "2": 2, "3": 3}
_NOT_WEAPON_CHAR = re.compile(r"[^0-9 ]")
_NOT_EXTRAS_CHAR = re.compile(r"[^0-9.\t-]")
_NUMBER_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_INCOMPLETE = " (file has no final newline: possibly still being written)"
_MAX_DIGITS = 15
_LONG_WEAPONS = 28 * 5 * 4  # beyond this a line may hold a number of more than _MAX_DIGITS digits
_LONG_EXTRAS = 38 * 8
_SLOTS_BY_MASK: dict[int, tuple[str, ...]] = {}
_SLOTS_CACHE_MAX = 4096

Converter = type[int] | type[float]


def _runs(names: tuple[str, ...]) -> tuple[tuple[int, int, Converter], ...]:
    """Consecutive fields of one type as (start, stop, converter): `map` over a slice beats a loop."""
    runs: list[tuple[int, int, Converter]] = []
    for i, name in enumerate(names):
        conv: Converter = float if name in FLOAT_EXTRAS else int
        if runs and runs[-1][2] is conv:
            runs[-1] = (runs[-1][0], i + 1, conv)
        else:
            runs.append((i, i + 1, conv))
    return tuple(runs)


# Per generation (by field count): the names and the typed runs.
_GENERATIONS: dict[int, tuple[tuple[str, ...], tuple[tuple[int, int, Converter], ...]]] = {
    count: (names, _runs(names)) for count, names in EXTRA_FIELDS_BY_COUNT.items()
}


def parse_round(filename: str, data: bytes) -> ParsedRound:
    """Parse and validate one stats file; ParseError (IncompleteFileError when cut short) otherwise."""
    name = parse_filename(filename)
    if name.kind is not FileKind.STATS:
        raise ParseError(filename, 0, "filename", f"a {name.kind.value} companion file, not a stats file")
    lines, complete = split_lines(decode(data))
    last = len(lines)
    try:
        return _parse_lines(name, lines, complete)
    except ParseError as exc:
        if complete or exc.line != last or isinstance(exc, IncompleteFileError):
            raise
        raise IncompleteFileError(exc.file, exc.line, exc.field, exc.reason + _INCOMPLETE) from None


def _parse_lines(name: StatsFileName, lines: list[str], complete: bool) -> ParsedRound:
    filename = name.filename
    numbered = [(i, line) for i, line in enumerate(lines, 1) if line and not line.isspace()]
    if not numbered:
        if not complete:
            raise IncompleteFileError(filename, 1, "header", "empty file" + _INCOMPLETE)
        raise ParseError(filename, 1, "header", "no header line")
    header = _parse_header(name, numbered[0][0], numbered[0][1])
    players: list[PlayerStats] = []
    count = 0
    first_line = 0
    for line_no, line in numbered[1:]:
        player = _parse_player(filename, line_no, line)
        n = len(player.extras)
        if not count:
            count, first_line = n, line_no
        elif n != count:
            raise ParseError(
                filename, line_no, "player.extras", f"{n} fields but line {first_line} has {count}"
            )
        players.append(player)
    if players:
        players = _flag_denied_outliers(players, header)
    flags = anomalies.round_flags(header, players, complete)
    return ParsedRound(
        name=name, header=header, players=tuple(players), extras_fields=count or None, flags=flags
    )


def _parse_header(name: StatsFileName, line_no: int, line: str) -> Header:
    filename = name.filename
    parts = line.split("\\")
    if len(parts) not in (8, 9):
        raise ParseError(
            filename, line_no, "header", f"expected 8 or 9 backslash-separated fields, got {len(parts)}"
        )
    server, map_name, config, round_text, defender, winner, limit_raw, next_raw = parts[:8]
    if map_name != name.map:
        raise ParseError(
            filename, line_no, "header.map", f"map {map_name!r} differs from the file name's {name.map!r}"
        )
    if round_text not in ("1", "2"):
        raise ParseError(filename, line_no, "header.round", f"round {round_text!r} is not 1 or 2")
    if int(round_text) != name.round_number:
        raise ParseError(
            filename, line_no, "header.round", f"round {round_text} but the name says {name.round_number}"
        )
    for field, value in (("header.defender", defender), ("header.winner", winner)):
        if value not in ("0", "1", "2"):
            raise ParseError(filename, line_no, field, f"side {value!r} is not 0, 1 or 2")
    limit_s = parse_time(limit_raw)
    if limit_s is None:
        raise ParseError(filename, line_no, "header.time_limit", f"{limit_raw!r} is not M:SS")
    next_s = parse_time(next_raw)
    if next_s is None:
        raise ParseError(filename, line_no, "header.next_time_limit", f"{next_raw!r} is not M:SS")
    duration_ms: int | None = None
    if len(parts) == 9:
        valid, duration_ms = parse_duration_ms(parts[8])
        if not valid:
            raise ParseError(
                filename, line_no, "header.duration", f"{parts[8]!r} is not a number of milliseconds"
            )
    # `0:00` and a field 7 above field 6 are written but unusable (§12 B4, B5); flags keep the evidence.
    usable_next = None if next_s == 0 or next_s > limit_s else next_s
    return Header(
        server_name=text_field(server),
        map=map_name,
        config=text_field(config),
        round_number=name.round_number,
        defender=int(defender),
        winner=int(winner),
        time_limit_raw=limit_raw,
        next_time_limit_raw=next_raw,
        time_limit_s=limit_s or None,
        next_time_limit_s=usable_next,
        duration_ms=duration_ms,
        field_count=len(parts),
    )


def _parse_player(filename: str, line_no: int, line: str) -> PlayerStats:
    parts = line.split("\\")
    if len(parts) != 5:
        raise ParseError(
            filename, line_no, "player", f"expected 5 backslash-separated parts, got {len(parts)}"
        )
    guid, raw_name, rounds_text, team_text, rest = parts
    if not _GUID_RE.fullmatch(guid):
        raise ParseError(filename, line_no, "player.guid", f"{guid!r} is not 8 hex digits or OMNIBOT0")
    # isdigit() alone would accept non-ASCII digits such as '²'.
    if not (rounds_text.isascii() and rounds_text.isdigit() and len(rounds_text) <= 6):
        raise ParseError(filename, line_no, "player.rounds", f"{rounds_text!r} is not an integer")
    if team_text not in _TEAMS:
        raise ParseError(filename, line_no, "player.team", f"team {team_text!r} is not 0-3")
    weapon_text, tab, extras_text = rest.partition("\t")
    if not tab:
        raise ParseError(filename, line_no, "player.extras", "no TAB-separated extras after the weapons")
    weapons, nums = _parse_weapons(filename, line_no, weapon_text)
    kills, deaths = sum(nums[3::5]), sum(nums[4::5])
    extras = _parse_extras(filename, line_no, extras_text)
    team = _TEAMS[team_text]
    name = text_field(raw_name)
    # Positional: this runs once per player line; mypy checks each argument against the field order.
    return PlayerStats(
        guid,
        name,
        strip_colors(name),
        int(rounds_text),
        team,
        kills,
        deaths,
        sum(nums[2::5]),
        sum(nums[1::5]),
        sum(nums[5::5]),
        weapons,
        extras,
        line_no,
        anomalies.player_flags(guid, team, kills, deaths, extras),
    )


def _slots_of(mask: int) -> tuple[str, ...]:
    """Slot names of the set bits, ascending; memoised because a server sees few distinct masks."""
    slots = _SLOTS_BY_MASK.get(mask)
    if slots is None:
        slots = tuple(slot for bit, slot in enumerate(WEAPON_SLOTS) if mask >> bit & 1)
        if len(_SLOTS_BY_MASK) < _SLOTS_CACHE_MAX:
            _SLOTS_BY_MASK[mask] = slots
    return slots


def _parse_weapons(filename: str, line_no: int, text: str) -> tuple[tuple[WeaponStats, ...], list[int]]:
    """The weapon block → per-slot records and the raw integer list (mask first)."""
    # Only ASCII digits and spaces: then int() cannot meet a sign, `_` or a non-ASCII digit.
    if not text.isascii() or _NOT_WEAPON_CHAR.search(text):
        raise ParseError(filename, line_no, "player.weapons", "not a list of non-negative integers")
    words = text.split()
    if not words:
        raise ParseError(filename, line_no, "player.weapons", "no weapon mask")
    # Bounded before int(): a huge digit run would hit Python's int-string limit or overflow SQLite.
    if len(text) > _LONG_WEAPONS and max(map(len, words)) > _MAX_DIGITS:
        raise ParseError(filename, line_no, "player.weapons", f"a number longer than {_MAX_DIGITS} digits")
    nums = list(map(int, words))
    mask = nums[0]
    if mask >= _MAX_MASK:
        raise ParseError(filename, line_no, "player.weapons", f"mask {mask} has bits above the 28 slots")
    slots = _slots_of(mask)
    if len(nums) != 1 + 5 * len(slots):
        raise ParseError(
            filename,
            line_no,
            "player.weapons",
            f"mask {mask} needs {5 * len(slots)} integers after it, got {len(nums) - 1}",
        )
    hits, heads = nums[1::5], nums[5::5]
    if any(map(operator.gt, heads, hits)):
        i = next(i for i, (hs, h) in enumerate(zip(heads, hits, strict=True)) if hs > h)
        raise ParseError(
            filename, line_no, "player.weapons", f"{slots[i]}: {heads[i]} headshots exceed {hits[i]} hits"
        )
    weapons = tuple(map(WeaponStats, slots, hits, nums[2::5], nums[3::5], nums[4::5], heads))
    return weapons, nums


def _parse_extras(filename: str, line_no: int, text: str) -> dict[str, int | float]:
    fields = text.split("\t")
    generation = _GENERATIONS.get(len(fields))
    if generation is None:
        raise ParseError(
            filename, line_no, "player.extras", f"{len(fields)} fields, expected 33, 36, 37 or 38"
        )
    names, runs = generation
    # Digits, '.', '-' and TAB only: int()/float() then reject every malformed number themselves and
    # cannot accept `nan`, `inf`, `1e5`, `_`, spaces or non-ASCII digits.
    if not text.isascii() or _NOT_EXTRAS_CHAR.search(text):
        raise _bad_extra(filename, line_no, fields, names)
    # Real lines are ~100-200 characters; only a long one can hide a number that would overflow
    # (float('9' * 400) is inf, not an error) or break SQLite's 64-bit integers.
    if len(text) > _LONG_EXTRAS and max(map(len, fields)) > _MAX_DIGITS:
        i = next(i for i, f in enumerate(fields) if len(f) > _MAX_DIGITS)
        raise ParseError(
            filename, line_no, f"player.extras[{i}]", f"{names[i]} is longer than {_MAX_DIGITS} characters"
        )
    values: list[int | float] = []
    try:
        for start, stop, conv in runs:
            values.extend(map(conv, fields[start:stop]))
    except ValueError:
        raise _bad_extra(filename, line_no, fields, names) from None
    return dict(zip(names, values, strict=True))


def _bad_extra(filename: str, line_no: int, fields: list[str], names: tuple[str, ...]) -> ParseError:
    """The precise error for the first extras field that is not a number of its type."""
    for i, (value, field_name) in enumerate(zip(fields, names, strict=True)):
        is_float = field_name in FLOAT_EXTRAS
        if not _NUMBER_RE.fullmatch(value) or (not is_float and "." in value):
            kind = "a number" if is_float else "an integer"
            return ParseError(
                filename, line_no, f"player.extras[{i}]", f"{field_name} {value!r} is not {kind}"
            )
    return ParseError(filename, line_no, "player.extras", "malformed extras")


def _flag_denied_outliers(players: list[PlayerStats], header: Header) -> list[PlayerStats]:
    """Add DENIED_TIME_OUTLIER (B8); needs the whole round, so it runs after every line is parsed."""
    played_s = max(int(p.extras.get("time_played_min", 0.0) * 60) for p in players)
    round_s = max(header.time_limit_s or 0, played_s)
    outliers = anomalies.denied_outliers(players, round_s)
    if not outliers:
        return players
    return [
        dataclasses.replace(p, flags=p.flags | {anomalies.DENIED_TIME_OUTLIER}) if p.key in outliers else p
        for p in players
    ]
