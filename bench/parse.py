"""Parse benchmark: files/s for parse + pairing + differential over the real samples, against a bare floor.

The floor reads the same files, splits every line and converts every number with int()/float(),
nothing else: the least any reader of this format must do. Both passes read the files from disk
(page cache) so they are measured the same way. Best of `--repeat` runs of process CPU time (the
machine is shared: CPU time is not inflated by waiting for a core); one process, one core.

    .venv/bin/python bench/parse.py [--files N] [--repeat R]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` and `bot` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.samples import replicate, write_files
from bot.stats.differential import round2_only
from bot.stats.model import ParsedRound
from bot.stats.pairing import pair_rounds, round_ref
from bot.stats.parser import parse_round


def full_pass(paths: list[Path]) -> int:
    """What `statsbot parse` does before printing: parse all, pair all, difference every paired R2."""
    rounds: dict[str, ParsedRound] = {}
    for path in paths:
        rounds[path.name] = parse_round(path.name, path.read_bytes())
    pairing = pair_rounds(round_ref(r) for r in rounds.values())
    for r2_name, r1_name in pairing.pairs.items():
        round2_only(rounds[r1_name], rounds[r2_name])
    return len(pairing.pairs)


def parse_pass(paths: list[Path]) -> int:
    """Reading and parsing alone, to show what pairing and the differential add."""
    return sum(len(parse_round(path.name, path.read_bytes()).players) for path in paths)


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


def best_rate(run: Callable[[list[Path]], int], paths: list[Path], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        run(paths)
        best = min(best, time.process_time() - start)
    return len(paths) / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=6100, help="distinct files made from the samples")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs; the best one counts")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="statsbot-bench-") as tmp:
        paths = write_files(Path(tmp), list(replicate(args.files)))
        pairs = full_pass(paths)  # warm-up, and a sanity check that pairing found the pairs
        floor_pass(paths)
        parse_rate = best_rate(full_pass, paths, args.repeat)
        parse_only_rate = best_rate(parse_pass, paths, args.repeat)
        floor_rate = best_rate(floor_pass, paths, args.repeat)
    version = sys.version.split()[0]
    print(f"files: {len(paths)} ({pairs} R1/R2 pairs), best of {args.repeat} CPU-time runs, python {version}")
    print(f"parse + pairing + differential: {parse_rate:8.0f} files/s")
    print(f"parse only:                     {parse_only_rate:8.0f} files/s")
    print(f"bare floor (read, split, int):   {floor_rate:8.0f} files/s")
    print(f"ratio floor / parse:             {floor_rate / parse_rate:8.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
