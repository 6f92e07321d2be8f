"""The extras block of a player line (STATS_FORMAT.md §8): TAB-separated fields typed by generation."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import ParseError
from bot.stats.model import EXTRA_FIELDS_BY_COUNT, FLOAT_EXTRAS

__all__ = ["MAX_DIGITS", "extras_layout", "parse_extras"]

MAX_DIGITS = 15  # longer numbers overflow SQLite's integers or hit Python's int-string limit
_NUMBER_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


@dataclass(frozen=True, slots=True)
class Layout:
    """One extras generation, prepared for the hot paths. `parse_extras` picks fields by type with
    `itemgetter`, converts them with one `map(int, ...)` and one `map(float, ...)` and writes them
    into a copy of `template`, whose key order is the generation's field order; the bulk road of
    player_lines checks already converted numbers against `types` and bounds `float_values`."""

    names: tuple[str, ...]
    template: dict[str, int | float]
    int_names: tuple[str, ...]
    int_fields: Callable[[list[str]], tuple[str, ...]]
    float_names: tuple[str, ...]
    float_fields: Callable[[list[str]], tuple[str, ...]]
    float_values: Callable[[list[int | float]], tuple[float, ...]]  # `float_fields` of converted numbers
    types: tuple[type, ...]  # int or float per field, in field order


def _generation(names: tuple[str, ...]) -> Layout:
    ints = [i for i, name in enumerate(names) if name not in FLOAT_EXTRAS]
    floats = [i for i, name in enumerate(names) if name in FLOAT_EXTRAS]
    if len(ints) < 2 or len(floats) < 2:  # itemgetter of one index returns the item, not a tuple
        raise ValueError(f"extras generation of {len(names)} fields needs several of each type")
    return Layout(
        names=names,
        template=dict.fromkeys(names, 0),
        int_names=tuple(names[i] for i in ints),
        int_fields=operator.itemgetter(*ints),
        float_names=tuple(names[i] for i in floats),
        float_fields=operator.itemgetter(*floats),
        float_values=operator.itemgetter(*floats),
        types=tuple(float if name in FLOAT_EXTRAS else int for name in names),
    )


# Per generation, by field count (§8.1).
_GENERATIONS: dict[int, Layout] = {
    count: _generation(names) for count, names in EXTRA_FIELDS_BY_COUNT.items()
}


def parse_extras(filename: str, line_no: int, text: str, chars_ok: bool) -> dict[str, int | float]:
    """The typed extras of a player line (names of its generation, in field order).

    `chars_ok`: the caller found only digits, '.', '-' and TAB in `text`; otherwise the first field
    that is not a number of its type is reported, once the field count is known to be right.
    """
    fields = text.split("\t")
    generation = _GENERATIONS.get(len(fields))
    if generation is None:
        raise ParseError(
            filename, line_no, "player.extras", f"{len(fields)} fields, expected 33, 36, 37 or 38"
        )
    names = generation.names
    if not chars_ok:
        raise _bad_extra(filename, line_no, fields, names)
    # Real lines are ~100-200 characters; only a long one can hide a number that would overflow
    # (float('9' * 400) is inf, not an error) or break SQLite's 64-bit integers.
    if max(map(len, fields)) > MAX_DIGITS:  # any one field can overflow SQLite's 64-bit integers
        i = next(i for i, f in enumerate(fields) if len(f) > MAX_DIGITS)
        raise ParseError(
            filename, line_no, f"player.extras[{i}]", f"{names[i]} is longer than {MAX_DIGITS} characters"
        )
    # With only those characters int()/float() reject every malformed number themselves and cannot
    # accept `nan`, `inf`, `1e5`, `_`, spaces or non-ASCII digits. Not strict: the generation was
    # chosen by len(fields).
    extras = generation.template.copy()
    try:
        extras.update(zip(generation.int_names, map(int, generation.int_fields(fields)), strict=False))
        extras.update(zip(generation.float_names, map(float, generation.float_fields(fields)), strict=False))
    except ValueError:
        raise _bad_extra(filename, line_no, fields, names) from None
    return extras


def extras_layout(count: int) -> Layout | None:
    """The layout of the generation with `count` fields (§8.1), None for an unknown count."""
    return _GENERATIONS.get(count)


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
