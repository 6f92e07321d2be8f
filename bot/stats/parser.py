"""The round-stats reader (STATS_FORMAT.md §4-§8, §14): bytes in, a validated ParsedRound out."""

from __future__ import annotations

import dataclasses
import operator
import re

from bot.errors import IncompleteFileError, ParseError
from bot.stats import anomalies
from bot.stats.colors import strip_colors
from bot.stats.endstats import parse_endstats
from bot.stats.extras import MAX_DIGITS, parse_extras
from bot.stats.model import (
    WEAPON_SLOTS,
    FileKind,
    Header,
    ParsedRound,
    PlayerStats,
    StatsFileName,
    make_weapon,
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
_INCOMPLETE = " (file has no final newline: possibly still being written)"
_SLOTS_BY_MASK: dict[int, tuple[str, ...]] = {}
_SLOTS_CACHE_MAX = 4096


# Everything the per-part checks of `_player_parts` prove, in one pass over the line.
_PLAYER_RE = re.compile(
    r"([0-9A-Fa-f]{8}|OMNIBOT0)\\([^\\]*)\\([0-9]{1,6})\\([0-3])\\([0-9 ]*)\t([0-9.\t-]*)"
)


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
    guid, raw_name, rounds_text, team_text, weapon_text, extras_text, extras_ok = _player_parts(
        filename, line_no, line
    )
    words = weapon_text.split()
    if not words:
        raise ParseError(filename, line_no, "player.weapons", "no weapon mask")
    # Bounded before int(): a huge digit run would hit Python's int-string limit or overflow SQLite.
    if max(map(len, words)) > MAX_DIGITS:
        raise ParseError(filename, line_no, "player.weapons", f"a number longer than {MAX_DIGITS} digits")
    nums = list(map(int, words))  # only digits and spaces: int() cannot meet a sign or a `_`
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
    hits, shots, kills, deaths, heads = nums[1::5], nums[2::5], nums[3::5], nums[4::5], nums[5::5]
    if any(map(operator.gt, heads, hits)):
        i = next(i for i, (hs, h) in enumerate(zip(heads, hits, strict=True)) if hs > h)
        raise ParseError(
            filename, line_no, "player.weapons", f"{slots[i]}: {heads[i]} headshots exceed {hits[i]} hits"
        )
    extras = parse_extras(filename, line_no, extras_text, extras_ok)
    team = _TEAMS[team_text]
    name = text_field(raw_name)
    kill_sum, death_sum = sum(kills), sum(deaths)
    # Positional: this runs once per player line; mypy checks each argument against the field order.
    return PlayerStats(
        guid,
        name,
        strip_colors(name),
        int(rounds_text),
        team,
        kill_sum,
        death_sum,
        sum(shots),
        sum(hits),
        sum(heads),
        tuple(map(make_weapon, zip(slots, hits, shots, kills, deaths, heads, strict=True))),
        extras,
        line_no,
        anomalies.player_flags(guid, team, kill_sum, death_sum, extras),
    )


def _player_parts(filename: str, line_no: int, line: str) -> tuple[str, str, str, str, str, str, bool]:
    """GUID, name, rounds, team, weapon text, extras text and whether the extras' characters are valid.

    One regex proves what the per-part checks below prove; they run only when it fails, to name
    the first offending part precisely. Bad extras characters are reported later (`parse_extras`),
    after the weapon block and the extras count, which is the order the checks run in.
    """
    match = _PLAYER_RE.fullmatch(line)
    if match is None:
        return _checked_parts(filename, line_no, line)
    guid, name, rounds, team, weapons, extras = match.groups()
    return guid, name, rounds, team, weapons, extras, True


def _checked_parts(filename: str, line_no: int, line: str) -> tuple[str, str, str, str, str, str, bool]:
    """`_player_parts` part by part: the precise ParseError of the first bad part."""
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
    # Only ASCII digits and spaces: then int() cannot meet a sign, `_` or a non-ASCII digit.
    if not weapon_text.isascii() or _NOT_WEAPON_CHAR.search(weapon_text):
        raise ParseError(filename, line_no, "player.weapons", "not a list of non-negative integers")
    extras_ok = extras_text.isascii() and not _NOT_EXTRAS_CHAR.search(extras_text)
    return guid, raw_name, rounds_text, team_text, weapon_text, extras_text, extras_ok


def _slots_of(mask: int) -> tuple[str, ...]:
    """Slot names of the set bits, ascending; memoised because a server sees few distinct masks."""
    slots = _SLOTS_BY_MASK.get(mask)
    if slots is None:
        slots = tuple(slot for bit, slot in enumerate(WEAPON_SLOTS) if mask >> bit & 1)
        if len(_SLOTS_BY_MASK) < _SLOTS_CACHE_MAX:
            _SLOTS_BY_MASK[mask] = slots
    return slots


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
