"""Player lines of a stats file (STATS_FORMAT.md §6-§8, §14): validated text in, PlayerStats out.

Two roads to the same records. The bulk road takes a file's player lines together: one regex proves
every line's shape and the C JSON scanner converts all their numbers in two calls, where a
line-by-line reader spends most of its time. It only ever accepts: anything it is not sure of (a
line the regex refuses, a number JSON would not write, a field of the wrong type, any failed check)
sends the whole file down the checked road, line by line and field by field, which alone raises
the ParseError naming the first bad line and field. Tests hold that the two roads give equal
records for every file the bulk road accepts, over real, mutated and generated files.
"""

from __future__ import annotations

import json
import operator
import re

from bot.errors import ParseError
from bot.stats import anomalies
from bot.stats.colors import strip_colors
from bot.stats.extras import MAX_DIGITS, extras_layout, parse_extras
from bot.stats.model import WEAPON_SLOTS, PlayerStats, make_weapon
from bot.stats.text import text_field

__all__ = ["read_players"]

_MAX_MASK = 1 << 28
_GUID_RE = re.compile(r"[0-9A-Fa-f]{8}|OMNIBOT0")
_TEAMS = {"0": 0, "1": 1, "2": 2, "3": 3}
_NOT_WEAPON_CHAR = re.compile(r"[^0-9 ]")
_NOT_EXTRAS_CHAR = re.compile(r"[^0-9.\t-]")
_SLOTS_BY_MASK: dict[int, tuple[str, ...]] = {}
_SLOTS_CACHE_MAX = 4096
_NAMES: dict[str, tuple[str, str]] = {}
_NAMES_CACHE_MAX = 65536

# Everything the per-part checks of `_player_parts` prove, in one pass over the line.
_PLAYER_PATTERN = r"([0-9A-Fa-f]{8}|OMNIBOT0)\\([^\\\n]*)\\([0-9]{1,6})\\([0-3])\\([0-9 ]*)\t([0-9.\t-]*)"
_PLAYER_RE = re.compile(_PLAYER_PATTERN)
# The same per line of a whole body: no group can span a newline, so a match is exactly one line.
_BODY_RE = re.compile(f"^{_PLAYER_PATTERN}$", re.MULTILINE)
# Bounds that keep a non-negative JSON number within MAX_DIGITS characters without looking at its
# text: an int below 10**14, or a float below 10**6 with at most 7 fraction digits (6 + 1 + 7 < 15).
_SHORT_INT_LIMIT = 10 ** (MAX_DIGITS - 1)
_SHORT_FLOAT_LIMIT = 10**6
# A fraction too long to bound by value (a pattern with a literal prefix: a fast search).
_LONG_FRACTION_RE = re.compile(r"\.[0-9]{8}")
# Public API of json; the scanner behind it is C and calls float()/int() on each number's text.
_raw_json = json.JSONDecoder().raw_decode

Block = tuple[tuple[str, ...], list[int], list[int], list[int], list[int], list[int]]


def read_players(
    filename: str, lines: list[str], numbered: list[tuple[int, str]]
) -> tuple[list[PlayerStats], int]:
    """The player records of a file (after its header) and their extras field count (0: none).

    `lines`: every line of the file; `numbered`: its non-blank lines with 1-based numbers, header first.
    """
    if len(numbered) == len(lines) > 1:  # no blank lines: line n of the body is line n + 1
        bulk = _bulk_players(filename, lines)
        if bulk is not None:
            return bulk
    return _checked_players(filename, numbered[1:])


def _bulk_players(filename: str, lines: list[str]) -> tuple[list[PlayerStats], int] | None:
    """All player lines at once, for files that pass every check; None sends the file to the
    checked road, which alone raises errors. The checks are `_checked_player`'s, inlined (this loop
    is the parser's hot path); both roads build the record with `_player`."""
    groups: list[tuple[str, str, str, str, str, str]] = _BODY_RE.findall("\n".join(lines[1:]))
    if len(groups) != len(lines) - 1:
        return None
    # `1 2 3 ` per line → [[1,2,3],...]; a double or leading space leaves `,,` and JSON refuses it.
    weapons_json = ("[[" + "],[".join([g[4] for g in groups]) + "]]").replace(" ]", "]").replace(" ", ",")
    extras_json = "[[" + "],[".join([g[5] for g in groups]).replace("\t", ",") + "]]"
    if "-" in extras_json or _LONG_FRACTION_RE.search(extras_json):  # never written by the mod
        return None
    try:
        # JSON numbers are a subset of what int()/float() accept (no leading zeros, `1.`, `.5`).
        weapon_rows, weapons_end = _raw_json(weapons_json)
        extras_rows, extras_end = _raw_json(extras_json)
    except ValueError:
        return None
    count = len(extras_rows[0])
    layout = extras_layout(count)
    if weapons_end != len(weapons_json) or extras_end != len(extras_json) or layout is None:
        return None
    names, types, float_values = layout.names, layout.types, layout.float_values
    players: list[PlayerStats] = []
    line_no = 1
    for (guid, raw_name, rounds, team_text, _, _), numbers, values in zip(
        groups, weapon_rows, extras_rows, strict=True
    ):
        line_no += 1
        if not numbers or numbers[0] >= _MAX_MASK:
            return None
        slots = _SLOTS_BY_MASK.get(numbers[0]) or _slots_of(numbers[0])
        if len(numbers) != 1 + 5 * len(slots):
            return None
        hits, shots, kills, deaths, heads = _columns(numbers)
        if any(map(operator.gt, heads, hits)) or tuple(map(type, values)) != types:
            return None
        # All non-negative, so a sum bounds its terms: within these bounds every number has at most
        # MAX_DIGITS characters (JSON writes no leading zeros; fractions were bounded above).
        kill_sum, death_sum, shot_sum, hit_sum = sum(kills), sum(deaths), sum(shots), sum(hits)
        if (
            kill_sum + death_sum + shot_sum + hit_sum >= _SHORT_INT_LIMIT
            or sum(values) >= _SHORT_INT_LIMIT
            or sum(float_values(values)) >= _SHORT_FLOAT_LIMIT
        ):
            return None
        block = (slots, hits, shots, kills, deaths, heads)
        sums = (kill_sum, death_sum, shot_sum, hit_sum)
        extras = dict(zip(names, values, strict=True))
        players.append(_player(guid, raw_name, rounds, team_text, block, sums, extras, line_no))
    return players, count


def _checked_players(filename: str, numbered: list[tuple[int, str]]) -> tuple[list[PlayerStats], int]:
    players: list[PlayerStats] = []
    count = 0
    first_line = 0
    for line_no, line in numbered:
        player = _checked_player(filename, line_no, line)
        n = len(player.extras)
        if not count:
            count, first_line = n, line_no
        elif n != count:
            raise ParseError(
                filename, line_no, "player.extras", f"{n} fields but line {first_line} has {count}"
            )
        players.append(player)
    return players, count


def _checked_player(filename: str, line_no: int, line: str) -> PlayerStats:
    guid, name, rounds, team, weapon_text, extras_text, extras_ok = _player_parts(filename, line_no, line)
    words = weapon_text.split()
    # Bounded before int(): a huge digit run would hit Python's int-string limit or overflow SQLite.
    if words and max(map(len, words)) > MAX_DIGITS:
        raise ParseError(filename, line_no, "player.weapons", f"a number longer than {MAX_DIGITS} digits")
    block = _weapon_block(filename, line_no, list(map(int, words)))  # digits only: no sign, no `_`
    extras = parse_extras(filename, line_no, extras_text, extras_ok)
    _slots, hits, shots, kills, deaths, _heads = block
    return _player(
        guid, name, rounds, team, block, (sum(kills), sum(deaths), sum(shots), sum(hits)), extras, line_no
    )


def _weapon_block(filename: str, line_no: int, numbers: list[int]) -> Block:
    """The weapon block's slots and per-slot hits, shots, kills, deaths, headshots (§7), checked."""
    if not numbers:
        raise ParseError(filename, line_no, "player.weapons", "no weapon mask")
    mask = numbers[0]
    if mask >= _MAX_MASK:
        raise ParseError(filename, line_no, "player.weapons", f"mask {mask} has bits above the 28 slots")
    slots = _slots_of(mask)
    if len(numbers) != 1 + 5 * len(slots):
        raise ParseError(
            filename,
            line_no,
            "player.weapons",
            f"mask {mask} needs {5 * len(slots)} integers after it, got {len(numbers) - 1}",
        )
    hits, shots, kills, deaths, heads = _columns(numbers)
    if any(map(operator.gt, heads, hits)):
        i = next(i for i, (hs, h) in enumerate(zip(heads, hits, strict=True)) if hs > h)
        raise ParseError(
            filename, line_no, "player.weapons", f"{slots[i]}: {heads[i]} headshots exceed {hits[i]} hits"
        )
    return slots, hits, shots, kills, deaths, heads


def _columns(numbers: list[int]) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
    """Hits, shots, kills, deaths, headshots of every slot: the weapon block after its mask, by column."""
    return numbers[1::5], numbers[2::5], numbers[3::5], numbers[4::5], numbers[5::5]


def _player(
    guid: str,
    raw_name: str,
    rounds: str,
    team_text: str,
    block: Block,
    sums: tuple[int, int, int, int],
    extras: dict[str, int | float],
    line_no: int,
) -> PlayerStats:
    """The record of a checked line; `sums`: Σ kills, deaths, shots, hits over the weapon block."""
    slots, hits, shots, kills, deaths, heads = block
    kill_sum, death_sum, shot_sum, hit_sum = sums
    team = _TEAMS[team_text]
    name, clean_name = _NAMES.get(raw_name) or _names(raw_name)
    # Positional: mypy checks each argument against the field order.
    return PlayerStats(
        guid,
        name,
        clean_name,
        int(rounds),
        team,
        kill_sum,
        death_sum,
        shot_sum,
        hit_sum,
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


def _names(raw_name: str) -> tuple[str, str]:
    """The decoded name and its colour-stripped form; memoised because the same players come back
    round after round, and stripping is a regex substitution."""
    name = text_field(raw_name)
    named = name, strip_colors(name)
    if len(_NAMES) < _NAMES_CACHE_MAX:
        _NAMES[raw_name] = named
    return named
