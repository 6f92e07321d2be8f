"""Many distinct stats files made from the real samples: shifted times, unique content (benches, tests)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from bot.stats.model import FileKind
from bot.stats.names import parse_filename

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "samples" / "real"


def real_samples(folder: Path = SAMPLES) -> list[tuple[str, bytes]]:
    """The real round files (companions left out), by name."""
    out: list[tuple[str, bytes]] = []
    for path in sorted(folder.glob("*.txt")):
        if parse_filename(path.name).kind is FileKind.STATS:
            out.append((path.name, path.read_bytes()))
    return out


def _renamed(name: str, shift: dt.timedelta) -> str:
    parsed = parse_filename(name)
    stamp = (parsed.played_at + shift).strftime("%Y-%m-%d-%H%M%S")
    return f"{stamp}{name[17:]}"


def _tagged(data: bytes, copy: int) -> bytes:
    # Header field 0 is the server's display name: a per-copy tag makes the content (sha256) unique
    # without touching anything parsing, pairing or the totals depend on.
    head, sep, rest = data.partition(b"\\")
    return head + f" #{copy}".encode() + sep + rest


def replicate(count: int, samples: list[tuple[str, bytes]] | None = None) -> Iterator[tuple[str, bytes]]:
    """`count` distinct files: copy k of the sample set shifted by its own whole number of weeks.

    A whole copy shifts together, so R1/R2 pairs stay pairs; names stay inside the grammar's years.
    """
    base = samples if samples is not None else real_samples()
    made = 0
    copy = 0
    while made < count:
        shift = dt.timedelta(days=7 * (copy % 300) - 1400, minutes=copy // 300 * 7)
        for name, data in base:
            if made >= count:
                return
            yield _renamed(name, shift), _tagged(data, copy)
            made += 1
        copy += 1


def write_files(folder: Path, files: Iterator[tuple[str, bytes]] | list[tuple[str, bytes]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files:
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths
