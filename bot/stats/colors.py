"""ET colour-code stripping by the engine rule (STATS_FORMAT.md §12 B20)."""

from __future__ import annotations

import re

# Engine rule: `^` followed by any printable non-space character other than `^` itself, or by any
# character >= 0x80, is a colour code and both characters go. `[0-9a-zA-Z]` alone (slomix) leaves
# real codes such as `^?` and `^/` behind. 0x7F (DEL) is not printable, so it is excluded too.
_COLOR_RE = re.compile(r"\^[\x21-\x5d\x5f-\x7e\x80-\U0010ffff]")


def strip_colors(text: str) -> str:
    """`text` without ET colour codes: `^1vid` → `vid`, `^^1a` → `^a`, a trailing lone `^` stays."""
    if "^" not in text:
        return text
    return _COLOR_RE.sub("", text)
