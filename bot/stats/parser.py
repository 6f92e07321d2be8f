"""The round-stats reader (STATS_FORMAT.md §4-§8, §14): bytes in, a validated ParsedRound out."""

from __future__ import annotations

import dataclasses

from bot.errors import IncompleteFileError, ParseError
from bot.stats import anomalies
from bot.stats.endstats import parse_endstats
from bot.stats.model import FileKind, Header, ParsedRound, PlayerStats, StatsFileName
from bot.stats.names import parse_filename
from bot.stats.player_lines import read_players
from bot.stats.text import decode, split_lines, text_field
from bot.stats.times import parse_duration_ms, parse_time

__all__ = ["parse_endstats", "parse_named_round", "parse_round"]

_INCOMPLETE = " (file has no final newline: possibly still being written)"


def parse_round(filename: str, data: bytes) -> ParsedRound:
    """Parse and validate one stats file; ParseError (IncompleteFileError when cut short) otherwise."""
    return parse_named_round(parse_filename(filename), data)


def parse_named_round(name: StatsFileName, data: bytes) -> ParsedRound:
    """`parse_round` for a file whose name is already parsed (a batch orders files by name first)."""
    if name.kind is not FileKind.STATS:
        raise ParseError(
            name.filename, 0, "filename", f"a {name.kind.value} companion file, not a stats file"
        )
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
    players, count = read_players(filename, lines, numbered)
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


def _flag_denied_outliers(players: list[PlayerStats], header: Header) -> list[PlayerStats]:
    """Add DENIED_TIME_OUTLIER (B8); needs the whole round, so it runs after every line is parsed."""
    played_min = max([p.extras.get("time_played_min", 0.0) for p in players])
    round_s = max(header.time_limit_s or 0, int(played_min * 60))
    outliers = anomalies.denied_outliers(players, round_s)
    if not outliers:
        return players
    return [
        dataclasses.replace(p, flags=p.flags | {anomalies.DENIED_TIME_OUTLIER}) if p.key in outliers else p
        for p in players
    ]
