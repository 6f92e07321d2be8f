"""The endstats.lua companion file (STATS_FORMAT.md §13): award lines, then per-player versus lines."""

from __future__ import annotations

import re

from bot.errors import IncompleteFileError, ParseError
from bot.stats.model import Award, EndStats, FileKind, VersusLine
from bot.stats.names import parse_filename
from bot.stats.text import decode, split_lines, text_field

VS_HEADER = "VS_HEADER"

# Award names endstats.lua writes. A versus line has the same shape as an award with an integer
# value (`name TAB 3 TAB 2`), so the name list is what tells them apart.
KNOWN_AWARDS: frozenset[str] = frozenset(
    {
        "Most damage given",
        "Most damage received",
        "Most team damage given",
        "Most team damage received",
        "Most teamkills",
        "Most selfkills",
        "Most deaths",
        "Most kills per minute",
        "Quickest multikill w/ light weapons",
        "Farthest riflenade kill",
        "Most light weapon kills",
        "Most pistol kills",
        "Most rifle kills",
        "Most riflenade kills",
        "Most sniper kills",
        "Most knife kills",
        "Most air support kills",
        "Most mine kills",
        "Most grenade kills",
        "Most panzer kills",
        "Most mortar kills",
        "Most panzer deaths",
        "Mortarmagnet",
        "Most multikills",
        "Most MG42 kills",
        "Most MG42 deaths",
        "Most revives",
        "Most revived",
        "Best K/D ratio",
        "Most dynamites planted",
        "Most dynamites defused",
        "Most doublekills",
        "Longest killing spree",
        "Longest death spree",
        "Most objectives stolen",
        "Most objectives returned",
        "Most corpse gibs",
        "Most kill assists",
        "Most killsteals",
        "Most headshot kills",
        "Most damage per minute",
        "Tank/Meatshield (Refuses to die)",
        "Most useful kills (>Half respawn time left)",
        "Full respawn king",
        "Least time dead (What spawn?)",
        "Most playtime denied",
        "Most useless kills",
        "Highest light weapons accuracy",
        "Highest headshot accuracy",
        "Most headshots",
        "Most bullets fired",
    }
)

_COUNT_RE = re.compile(r"[0-9]{1,9}")


def parse_endstats(filename: str, data: bytes) -> EndStats:
    """Parse an `…-round-N-endstats.txt` file; ParseError naming line and field otherwise."""
    name = parse_filename(filename)
    if name.kind is not FileKind.ENDSTATS:
        raise ParseError(filename, 0, "filename", "not an endstats file")
    lines, complete = split_lines(decode(data))
    # endstats.lua appends in several chunks: without the final newline the file may be half-written.
    if not complete:
        raise IncompleteFileError(
            filename, max(len(lines), 1), "file", "no final newline: possibly still being written"
        )
    awards: list[Award] = []
    versus: list[VersusLine] = []
    owner: str | None = None
    owner_guid: str | None = None
    for line_no, line in enumerate(lines, 1):
        if not line or line.isspace():
            continue
        fields = [text_field(f) for f in line.split("\t")]
        if len(fields) != 3:
            raise ParseError(
                filename, line_no, "endstats", f"expected 3 TAB-separated fields, got {len(fields)}"
            )
        first, second, third = fields
        if first == VS_HEADER:
            owner, owner_guid = second, third
            continue
        is_count_pair = bool(_COUNT_RE.fullmatch(second) and _COUNT_RE.fullmatch(third))
        # Awards come first; once versus lines started, every line is a versus line.
        if not versus and owner is None and (first in KNOWN_AWARDS or not is_count_pair):
            awards.append(Award(award=first, player=second, value=third, line=line_no))
            continue
        if not is_count_pair:
            bad, field = (second, "endstats.kills") if not _COUNT_RE.fullmatch(second) else (third, "")
            raise ParseError(
                filename,
                line_no,
                field or "endstats.deaths",
                f"versus count {bad!r} is not an integer",
            )
        versus.append(VersusLine(owner, owner_guid, first, int(second), int(third), line_no))
    return EndStats(name=name, awards=tuple(awards), versus=tuple(versus))
