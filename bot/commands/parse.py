"""`statsbot parse [--json] PATH...`: parse local stats files, pair them and print them (no database)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.errors import ParseError
from bot.stats.derived import accuracy, duration_s, kd
from bot.stats.jsonout import round_json
from bot.stats.model import FileKind, ParsedRound, StatsFileName
from bot.stats.names import parse_filename
from bot.stats.outcome import match_outcome, round_result
from bot.stats.parser import parse_endstats, parse_named_round
from bot.stats.stream import settle_in_order
from bot.stats.times import format_mss

EXIT_OK = 0
EXIT_USAGE = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = subparsers.add_parser(
        "parse",
        help="parse stats files or folders and print them (R2s paired with R1s among the given files)",
        description="Parse c0rnp0rn stats files (files or folders; all treated as one server for "
        "pairing) and print a table per round, or with --json one object per stats file in "
        "chronological order. Exit 0 if every file parsed, 2 if any failed or a path is missing.",
    )
    cmd.add_argument("--json", action="store_true", help="one JSON object per line per stats file")
    cmd.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="stats files or folders")
    cmd.set_defaults(handler=run_parse)


@dataclass(frozen=True, slots=True)
class _Input:
    path: Path
    name: StatsFileName | None  # None: the name failed the grammar (error in `error`)
    error: str | None = None


def _collect(paths: list[Path], err: TextIO) -> list[_Input]:
    """The files to parse. Folder entries that are not stats-directory names are skipped with a note;
    a file named explicitly must be valid. A missing path is an error entry; the others still run."""
    found: list[_Input] = []
    seen: set[str] = set()
    for path in paths:
        if path.is_dir():
            candidates = sorted(p for p in path.iterdir() if p.is_file())
            explicit = False
        elif path.is_file():
            candidates, explicit = [path], True
        else:
            found.append(_Input(path, None, f"{path}: no such file or directory"))
            continue
        for file in candidates:
            try:
                name = parse_filename(file.name)
            except ParseError as exc:
                if explicit:
                    found.append(_Input(file, None, str(exc)))
                else:
                    err.write(f"skipped {file}: {exc.reason}\n")
                continue
            if name.filename in seen:
                err.write(f"skipped {file}: a file of the same name was already given\n")
                continue
            seen.add(name.filename)
            found.append(_Input(file, name))
    return found


@dataclass(frozen=True, slots=True)
class _CompanionError:
    """A companion (-endstats) that failed validation: not a stats file, so not part of the JSON stream."""

    text: str


def _read_and_parse(item: _Input) -> ParsedRound | str | _CompanionError | None:
    """The parsed stats file, an error text, or None for a companion that validated fine."""
    if item.name is None:
        return item.error
    try:
        data = item.path.read_bytes()
    except OSError as exc:
        return f"{item.name.filename}: cannot read: {exc.strerror or exc}"
    try:
        if item.name.kind is FileKind.ENDSTATS:
            try:
                parse_endstats(item.name.filename, data)
            except ParseError as exc:  # endstats are written in chunks (§13): often caught half-written
                return _CompanionError(str(exc))
            return None
        if item.name.kind is FileKind.WEAPON_STATS:
            return None  # disabled in every known mod generation (§2): nothing to validate against
        return parse_named_round(item.name, data)
    except ParseError as exc:
        return str(exc)


def run_parse(args: argparse.Namespace) -> int:
    return _parse_and_print(args, sys.stdout, sys.stderr)


def _input_order(item: _Input) -> tuple[int, dt.datetime, int, str]:
    """Pairing order (date-time, round, name); files whose name failed the grammar last, by name."""
    if item.name is None:
        return 1, dt.datetime.min, 0, item.path.name  # noqa: DTZ901 - naive like played_at; a sort key
    return 0, item.name.played_at, item.name.round_number, item.name.filename


def _parse_and_print(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Streamed in chronological order: only the open round 1 and the files after it are held, so a
    folder of any size runs in constant memory."""
    inputs = sorted(_collect(list(args.paths), err), key=_input_order)
    results = ((item, _read_and_parse(item)) for item in inputs)
    failed = False
    for settled in settle_in_order((r, r[1] if isinstance(r[1], ParsedRound) else None) for r in results):
        item, result = settled.item
        filename = item.name.filename if item.name else item.path.name
        if isinstance(result, _CompanionError) and args.json:
            # Companions are not listed in the JSON contract: a note, not a failure.
            err.write(f"note: companion not valid, not listed: {result.text}\n")
        elif isinstance(result, _CompanionError | str):
            failed = True
            error = result.text if isinstance(result, _CompanionError) else result
            if args.json:
                out.write(json.dumps({"file": filename, "error": error}) + "\n")
            else:
                err.write(f"error: {error}\n")
        elif settled.parsed is not None and settled.shown is not None:
            other = settled.partner.filename if settled.partner is not None else None
            if args.json:
                out.write(json.dumps(round_json(settled.shown, other)) + "\n")
            else:
                out.write(_table(settled.parsed, settled.shown, settled.partner) + "\n")
    return EXIT_USAGE if failed else EXIT_OK


def _pairing_text(parsed: ParsedRound, other: str | None) -> str:
    if parsed.header.round_number == 1:
        return f"round 2: {other}" if other else "no round 2"
    if other:
        return f"round 1: {other} (values are round-2-only)"
    return "orphan: no round 1 (values are R1+R2 totals)"


def _outcome_text(parsed: ParsedRound, r1: ParsedRound | None) -> str:
    header = parsed.header
    seconds = duration_s(parsed, r1)
    text = f"{round_result(header)}, ran {format_mss(seconds) if seconds is not None else 'unknown'}"
    if r1 is not None:
        match = match_outcome(r1.header, header)
        side = {1: "Axis", 2: "Allies"}.get(match.winner_team or 0, "nobody")
        text += f"; match: {match.outcome.replace('_', ' ')} ({side})"
    return text


def _table(parsed: ParsedRound, shown: ParsedRound, partner: ParsedRound | None) -> str:
    h = parsed.header
    r1 = partner if partner is not None and h.round_number == 2 else None
    other = partner.filename if partner is not None else None
    lines = [
        f"== {parsed.filename}",
        f"   map {h.map}, round {h.round_number}, limit {h.time_limit_raw}, {_outcome_text(parsed, r1)}",
        f"   {_pairing_text(parsed, other)}; extras fields: {parsed.extras_fields or '-'}",
    ]
    if parsed.flags:
        lines.append(f"   flags: {', '.join(sorted(parsed.flags))}")
    lines.append(f"   {'player':<24} {'team':>4} {'K':>4} {'D':>4} {'K/D':>5} {'damage':>7} {'acc%':>6}")
    for p in sorted(shown.players, key=lambda p: (-p.kills, p.deaths, p.clean_name)):
        acc = accuracy(p)
        lines.append(
            f"   {p.clean_name[:24]:<24} {p.team:>4} {p.kills:>4} {p.deaths:>4} {kd(p):>5.2f} "
            f"{p.extras.get('damage_given', 0):>7} {'-' if acc is None else f'{acc:.1f}':>6}"
        )
    return "\n".join(lines)
