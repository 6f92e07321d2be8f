"""Parse benchmark: files/s for parse + pairing + differential over the real samples, against a bare floor.

The floor reads the same files, splits every line and converts every number with int()/float(),
nothing else: the least any reader of this format must do. The full pass runs as `statsbot parse`
runs it: files in pairing order (from their names), parsed and paired as they come, holding only
the open round 1 (bot/stats/stream.py). The previous design, parsing and holding every file before
pairing, is shown too: the cyclic GC then walks the growing heap over and over. Every pass reads
the files from disk (page cache) so they are measured the same way, runs after a `gc.collect()`
with the default GC settings, and was warmed up once. Best of `--repeat` runs of process CPU time
(the machine is shared: CPU time is not inflated by waiting for a core); one process, one core.

    .venv/bin/python bench/parse.py [--files N] [--repeat R] [--data varied|replica|both]

Inputs (bench/samples.py): `replica` = the 61 real samples copied and shifted in time (the same 33
players and names again and again, which the parser's name memo loves); `varied` = the same numbers
played by 5,000 regulars (Zipf-like: a few play most rounds), renames, 34 maps: ~1,700 GUIDs and
~2,500 names over 6,100 files, the way years of a community's history look. Both are reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `bot` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.samples import replicate, varied, write_files
from bot.stats.differential import round2_only
from bot.stats.model import ParsedRound, StatsFileName
from bot.stats.names import parse_filename
from bot.stats.pairing import pair_rounds, round_ref
from bot.stats.parser import parse_named_round, parse_round
from bot.stats.stream import settle_in_order


def full_pass(paths: list[Path]) -> int:
    """What `statsbot parse` does before printing: the files in pairing order (from their names),
    parsed and paired as they come, every paired round 2 differenced (bot/stats/stream.py)."""
    named = sorted(((parse_filename(path.name), path) for path in paths), key=_pairing_order)
    pairs = 0
    for settled in settle_in_order(
        (path, parse_named_round(name, path.read_bytes())) for name, path in named
    ):
        pairs += settled.shown is not settled.parsed  # a paired round 2, shown round-2-only
    return pairs


def held_pass(paths: list[Path]) -> int:
    """The previous design: every file parsed and held, then paired, then each pair differenced."""
    rounds: dict[str, ParsedRound] = {}
    for path in paths:
        rounds[path.name] = parse_round(path.name, path.read_bytes())
    pairing = pair_rounds(round_ref(r) for r in rounds.values())
    for r2_name, r1_name in pairing.pairs.items():
        round2_only(rounds[r1_name], rounds[r2_name])
    return len(pairing.pairs)


def _pairing_order(named: tuple[StatsFileName, Path]) -> tuple[dt.datetime, int, str]:
    name = named[0]
    return name.played_at, name.round_number, name.filename


def parse_pass(paths: list[Path]) -> int:
    """Reading and parsing alone, to show what pairing and the differential add."""
    return sum(len(parse_round(path.name, path.read_bytes()).players) for path in paths)


def read_pass(paths: list[Path]) -> int:
    """Reading the files alone: a cost every pass (the floor too) pays."""
    return sum(len(path.read_bytes()) for path in paths)


def floor_pass(paths: list[Path]) -> int:
    """Read, split, convert every number: no validation, no records, no pairing."""
    numbers = 0
    for path in paths:
        lines = path.read_bytes().decode("utf-8", "surrogateescape").split("\n")
        for line in lines[1:]:
            if not line:
                continue
            weapons, _, extras = line.split("\\")[4].partition("\t")
            numbers += len([int(x) for x in weapons.split()]) + len([float(x) for x in extras.split("\t")])
    return numbers


class _GcClock:
    """CPU time spent inside cyclic-GC collections (gc.callbacks), to show the collector's share."""

    def __init__(self) -> None:
        self.total = 0.0
        self._start = 0.0

    def __call__(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.process_time()
        else:
            self.total += time.process_time() - self._start


def best_rate(run: Callable[[list[Path]], int], paths: list[Path], repeat: int) -> tuple[float, float]:
    """Files/s of the best run, and the share of that run's CPU time spent in GC collections."""
    best, best_gc = float("inf"), 0.0
    for _ in range(repeat):
        gc.collect()  # every run starts from the same collector state, nothing left from the last one
        clock = _GcClock()
        gc.callbacks.append(clock)
        start = time.process_time()
        run(paths)
        elapsed = time.process_time() - start
        gc.callbacks.remove(clock)
        if elapsed < best:
            best, best_gc = elapsed, clock.total
    return len(paths) / best, best_gc / best


def part_costs(paths: list[Path], repeat: int) -> dict[str, float]:
    """µs per file (averaged over all files) of the pieces of the full pass, each timed on its own:
    pairing and the differential run over rounds already parsed and held in memory."""
    rounds = {path.name: parse_round(path.name, path.read_bytes()) for path in paths}
    pairing = pair_rounds(round_ref(r) for r in rounds.values())
    pairs = [(rounds[r1], rounds[r2]) for r2, r1 in pairing.pairs.items()]

    def pairing_pass(_paths: list[Path]) -> int:
        return len(pair_rounds(round_ref(r) for r in rounds.values()).pairs)

    def differential_pass(_paths: list[Path]) -> int:
        return sum(len(round2_only(r1, r2).players) for r1, r2 in pairs)

    passes: dict[str, Callable[[list[Path]], int]] = {
        "reading the file": read_pass,
        "bare floor": floor_pass,
        "parse only, results dropped": parse_pass,
        "round_ref + pair_rounds": pairing_pass,
        "round2_only over every pair": differential_pass,
        "full pass": full_pass,
    }
    return {label: 1e6 / best_rate(run, paths, repeat)[0] for label, run in passes.items()}


def measure(label: str, files: list[tuple[str, bytes]], repeat: int) -> None:
    with tempfile.TemporaryDirectory(prefix="statsbot-bench-") as tmp:
        paths = write_files(Path(tmp), files)
        pairs = full_pass(paths)  # warm-up, and a sanity check that pairing found the pairs
        parse_pass(paths)
        floor_pass(paths)
        full, full_gc = best_rate(full_pass, paths, repeat)
        held, held_gc = best_rate(held_pass, paths, repeat)
        parts = part_costs(paths, repeat)
        parse_only, parse_gc = best_rate(parse_pass, paths, repeat)
        floor, floor_gc = best_rate(floor_pass, paths, repeat)
    version = sys.version.split()[0]
    print(f"== {label}: {len(paths)} files ({pairs} R1/R2 pairs)")
    print(f"   best of {repeat} CPU-time runs of one process, python {version}")
    print("                                    files/s   in GC")
    print(f"parse + pairing + differential:   {full:8.0f}   {full_gc:5.0%}")
    print(f"  held: parse all, then pair:      {held:8.0f}   {held_gc:5.0%}")
    print(f"parse only:                       {parse_only:8.0f}   {parse_gc:5.0%}")
    print(f"bare floor (read, split, int):    {floor:8.0f}   {floor_gc:5.0%}")
    print(f"ratio floor / full pass:          {floor / full:8.2f}x")
    print("µs per file, each part timed on its own:")
    for part, micros in parts.items():
        print(f"  {part + ':':<32} {micros:8.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=6100, help="distinct files made from the samples")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs; the best one counts")
    parser.add_argument("--data", choices=["varied", "replica", "both"], default="both")
    args = parser.parse_args(argv)
    if args.data in ("varied", "both"):
        measure("varied (5,000 regulars, renames, 34 maps)", list(varied(args.files)), args.repeat)
    if args.data in ("replica", "both"):
        measure(
            "replica (the 61 samples' 33 players again and again)", list(replicate(args.files)), args.repeat
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
