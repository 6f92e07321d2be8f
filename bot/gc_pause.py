"""Pause CPython's cyclic garbage collector around batch work that builds many long-lived records."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Run the block with the cyclic collector off, then restore it.

    A batch that keeps every parsed file until pairing grows the heap by dozens of tracked objects per
    file, and the collector walks that heap again and again: a quarter of `statsbot parse`'s time
    (docs/BENCHMARKS.md). The records hold no reference cycles, so reference counting frees them
    all the same; the few cycles a batch does make (a caught exception and its frame) wait for the
    next collection after the block. Not for the daemon's endless loop: only for batches that end.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
