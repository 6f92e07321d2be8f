"""What preparing the posts costs: `prepare_batch` (parse, rows, zlib, round-1 posts, pairs with their
round-2-only rows, match and round posts) over the real samples, repeated; the figure the backfill's
worker processes spend per file. Compare a tree before and after a change of the post builders.

CPU time of this process (time.process_time), so that other work on the machine weighs less.

Run: .venv/bin/python bench/prepare.py [--repeat 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.samples import real_samples
from bot.ingest.prepared import prepare_batch

WINDOW_SECONDS = 45 * 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    files = [("main", name, data) for name, data in real_samples()]
    prepare_batch(files, WINDOW_SECONDS)  # warm caches and imports
    runs = []
    for _ in range(args.repeat):
        start = time.process_time()
        batch = prepare_batch(files, WINDOW_SECONDS)
        runs.append(time.process_time() - start)
    best, median = min(runs), statistics.median(runs)
    print(f"prepare_batch: {len(files)} files, {len(batch.pairs)} pairs, {args.repeat} runs")
    rate_best, rate_median = len(files) / best, len(files) / median
    print(f"  best {rate_best:,.0f} files/s ({best * 1000:.1f} ms), median {rate_median:,.0f} files/s")


if __name__ == "__main__":
    main()
