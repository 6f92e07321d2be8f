"""Header time values (STATS_FORMAT.md §5): `M:SS`, defensive decimal minutes and integers, field 8."""

from __future__ import annotations

import functools
import re

_MSS_RE = re.compile(r"([0-9]{1,6}):([0-5][0-9])")
_DECIMAL_RE = re.compile(r"([0-9]{1,6})\.([0-9]{1,6})")
_INT_RE = re.compile(r"[0-9]{1,9}")
_SIGNED_RE = re.compile(r"-?[0-9]{1,12}(?:\.[0-9]{1,6})?")

# Field 8 above this is milliseconds, otherwise seconds of a never-shipped variant (§5, B6).
_MS_THRESHOLD = 10_000


# A server writes few distinct limits, and a file's two fields are read again for its flags.
@functools.lru_cache(maxsize=1024)
def parse_time(text: str) -> int | None:
    """Whole seconds of a header time limit, or None when `text` is not a time.

    `M:SS` is what the mod writes. The upstream ancestor wrote decimal minutes (`20.00`) and the
    `timelimit` cvar itself is minutes, so a plain integer is read as minutes too. Fractions of a
    second are truncated like the mod does.
    """
    match = _MSS_RE.fullmatch(text)
    if match is not None:
        return int(match.group(1)) * 60 + int(match.group(2))
    match = _DECIMAL_RE.fullmatch(text)
    if match is not None:
        whole, frac = match.group(1, 2)
        scale: int = 10 ** len(frac)
        # Integer arithmetic on the digits: float minutes * 60 can land just below a whole second.
        return (int(whole) * 60 * scale + int(frac) * 60) // scale
    if _INT_RE.fullmatch(text):
        return int(text) * 60
    return None


def parse_duration_ms(text: str) -> tuple[bool, int | None]:
    """Header field 8 → (valid, milliseconds or None when ≤ 0).

    Milliseconds normally; a value up to 10 000 (or one with decimals) is seconds. ≤ 0 comes from the
    shutdown path and means unknown.
    """
    if not _SIGNED_RE.fullmatch(text):
        return False, None
    if "." in text:
        value_s = float(text)
        return True, (round(value_s * 1000) if value_s > 0 else None)
    value = int(text)
    if value <= 0:
        return True, None
    return True, (value if value > _MS_THRESHOLD else value * 1000)


def format_mss(seconds: int) -> str:
    """Seconds as the mod's `M:SS`."""
    return f"{seconds // 60}:{seconds % 60:02d}"
