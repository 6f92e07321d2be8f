"""`statsbot parse [--json] PATH...`: parse local stats files, pair them and print them (no database)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.errors import ParseError
from bot.gc_pause import paused_gc
from bot.stats.derived import accuracy, duration_s, kd
from bot.stats.differential import round2_only
from bot.stats.jsonout import round_json
from bot.stats.model import FileKind, Pairing, ParsedRound, StatsFileName
from bot.stats.names import parse_filename
from bot.stats.outcome import match_outcome, round_result
from bot.stats.pairing import pair_rounds, round_ref
from bot.stats.parser import parse_endstats, parse_round
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
        return parse_round(item.name.filename, data)
    except ParseError as exc:
        return str(exc)


def run_parse(args: argparse.Namespace) -> int:
    # Every parsed file is kept until pairing is done: see paused_gc for why the collector waits.
    with paused_gc():
        return _parse_and_print(args, sys.stdout, sys.stderr)


def _parse_and_print(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    inputs = _collect(list(args.paths), err)
    rounds: dict[str, ParsedRound] = {}
    # (sort key, file name, error or None); files with a bad name sort last.
    entries: list[tuple[tuple[int, str], str, str | None]] = []
    failed = False
    for item in inputs:
        result = _read_and_parse(item)
        filename = item.name.filename if item.name else item.path.name
        order = (0, f"{item.name.played_at:%Y%m%d%H%M%S}-{item.name.round_number}") if item.name else (1, "")
        if isinstance(result, _CompanionError):
            if args.json:  # companions are not listed in the JSON contract: a note, not a failure
                err.write(f"note: companion not valid, not listed: {result.text}\n")
            else:
                failed = True
                entries.append((order, filename, result.text))
        elif isinstance(result, ParsedRound):
            rounds[filename] = result
            entries.append((order, filename, None))
        elif isinstance(result, str):
            failed = True
            entries.append((order, filename, result))
    entries.sort(key=lambda e: (e[0], e[1]))
    pairing = pair_rounds(round_ref(r) for r in rounds.values())
    partner = {**dict(pairing.pairs), **{r1: r2 for r2, r1 in pairing.pairs.items()}}
    for _order, filename, error in entries:
        if error is not None:
            if args.json:
                out.write(json.dumps({"file": filename, "error": error}) + "\n")
            else:
                err.write(f"error: {error}\n")
            continue
        parsed = rounds[filename]
        shown = _shown_round(parsed, rounds, pairing)
        if args.json:
            out.write(json.dumps(round_json(shown, partner.get(filename))) + "\n")
        else:
            out.write(_table(parsed, shown, rounds, pairing, partner.get(filename)) + "\n")
    return EXIT_USAGE if failed else EXIT_OK


def _shown_round(parsed: ParsedRound, rounds: dict[str, ParsedRound], pairing: Pairing) -> ParsedRound:
    """A paired R2 is shown with round-2-only values; everything else as written."""
    r1_name = pairing.pairs.get(parsed.filename)
    return round2_only(rounds[r1_name], parsed) if r1_name else parsed


def _pairing_text(parsed: ParsedRound, pairing: Pairing, other: str | None) -> str:
    if parsed.header.round_number == 1:
        return f"round 2: {other}" if other else "no round 2"
    if other:
        return f"round 1: {other} (values are round-2-only)"
    return "orphan: no round 1 (values are R1+R2 totals)"


def _outcome_text(parsed: ParsedRound, rounds: dict[str, ParsedRound], pairing: Pairing) -> str:
    header = parsed.header
    r1_name = pairing.pairs.get(parsed.filename)
    r1 = rounds[r1_name] if r1_name else None
    seconds = duration_s(parsed, r1)
    text = f"{round_result(header)}, ran {format_mss(seconds) if seconds is not None else 'unknown'}"
    if r1 is not None:
        match = match_outcome(r1.header, header)
        side = {1: "Axis", 2: "Allies"}.get(match.winner_team or 0, "nobody")
        text += f"; match: {match.outcome.replace('_', ' ')} ({side})"
    return text


def _table(
    parsed: ParsedRound,
    shown: ParsedRound,
    rounds: dict[str, ParsedRound],
    pairing: Pairing,
    other: str | None,
) -> str:
    h = parsed.header
    lines = [
        f"== {parsed.filename}",
        f"   map {h.map}, round {h.round_number}, limit {h.time_limit_raw}, "
        f"{_outcome_text(parsed, rounds, pairing)}",
        f"   {_pairing_text(parsed, pairing, other)}; extras fields: {parsed.extras_fields or '-'}",
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
