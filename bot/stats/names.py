"""File-name grammar of the stats directory (STATS_FORMAT.md §3) and the remote-name safety check."""

from __future__ import annotations

import datetime as dt
import re

from bot.errors import ParseError
from bot.stats.model import FileKind, StatsFileName

MAX_NAME_BYTES = 255
MAX_MAP_CHARS = 50
MIN_YEAR = 2020
MAX_YEAR = 2035

# Greedy map group anchored on the literal suffix: a map containing `-round-` still splits at the LAST
# `-round-N`. `[0-9]` rather than `\d`, which would also accept non-ASCII digits.
_NAME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})-([0-9]{2})([0-9]{2})([0-9]{2})-(.+)-round-([0-9]+)(-endstats|_ws)?\.txt"
)

_SPACE_RE = re.compile(r"\s")
_SURROGATE_RE = re.compile(r"[\ud800-\udfff]")
# C0 controls, DEL and C1 controls.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")

_KIND_BY_SUFFIX: dict[str | None, FileKind] = {
    None: FileKind.STATS,
    "-endstats": FileKind.ENDSTATS,
    "_ws": FileKind.WEAPON_STATS,
}


def unsafe_name_reason(name: str) -> str | None:
    """Why `name` must never be used as a local path component, or None when it is safe."""
    if not name:
        return "empty name"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        return f"name longer than {MAX_NAME_BYTES} bytes"
    if "/" in name or "\\" in name:
        return "name contains a path separator"
    if ".." in name:
        return "name contains '..'"
    if "\x00" in name:
        return "name contains NUL"
    if _CONTROL_RE.search(name):
        return "name contains a control character"
    if name.startswith("."):
        return "name starts with '.'"
    if _SURROGATE_RE.search(name):  # undecodable bytes smuggled through as surrogates (os.fsdecode)
        return "name is not valid UTF-8"
    return None


def _fail(name: str, reason: str) -> ParseError:
    return ParseError(file=name, line=0, field="filename", reason=reason)


def parse_filename(name: str) -> StatsFileName:
    """Split a stats or companion file name into its parts; ParseError(field="filename") otherwise."""
    unsafe = unsafe_name_reason(name)
    if unsafe is not None:
        raise _fail(name, unsafe)
    match = _NAME_RE.fullmatch(name)
    if match is None:
        raise _fail(name, "does not match YYYY-MM-DD-HHMMSS-<map>-round-<N>.txt")
    year, month, day, hour, minute, second = map(int, match.group(1, 2, 3, 4, 5, 6))
    map_name, round_text, suffix = match.group(7, 8, 9)
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _fail(name, f"year {year} outside {MIN_YEAR}-{MAX_YEAR}")
    if not 1 <= month <= 12:
        raise _fail(name, f"month {month} outside 1-12")
    if not 1 <= day <= 31:
        raise _fail(name, f"day {day} outside 1-31")
    if hour > 23:
        raise _fail(name, f"hour {hour} outside 0-23")
    if minute > 59:
        raise _fail(name, f"minute {minute} outside 0-59")
    if second > 59:
        raise _fail(name, f"second {second} outside 0-59")
    try:
        played_at = dt.datetime(year, month, day, hour, minute, second)
    except ValueError as exc:  # e.g. 2025-02-30
        raise _fail(name, f"invalid date: {exc}") from None
    if len(map_name) > MAX_MAP_CHARS:
        raise _fail(name, f"map name longer than {MAX_MAP_CHARS} characters")
    if _SPACE_RE.search(map_name):
        raise _fail(name, "map name contains whitespace")
    # Only stopwatch rounds 1 and 2 produce files (§3.2): there is no round-0 or round-3 file.
    if round_text not in ("1", "2"):
        raise _fail(name, f"round {round_text!r} is not 1 or 2")
    return StatsFileName(
        filename=name,
        played_at=played_at,
        map=map_name,
        round_number=int(round_text),
        kind=_KIND_BY_SUFFIX[suffix],
    )
