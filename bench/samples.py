"""Many distinct stats files made from the real samples: shifted times, unique content (benches, tests)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
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


# --- varied history: many distinct players, renames and maps, the way years of real rounds look ---

MAP_POOL = (
    "supply", "te_escape2", "sw_goldrush_te", "etl_sp_delivery", "et_brewdog", "erdenberg_t2",
    "braundorf_b4", "etl_ice", "bremen_b3", "adlernest", "etl_adlernest", "frostbite", "etl_frostbite",
    "radar", "fueldump", "oasis", "battery", "railgun", "goldrush", "sw_oasis_b3", "missile_b3",
    "karsiah_te2", "decay_sw", "warbell", "reactor_final", "1944_beach", "et_ufo_final", "tc_base",
    "mp_sub_rc1", "te_valhalla", "capuzzo", "element_b4", "kothet2", "vengeance_te_final",
)  # fmt: skip
_SYLLABLES = ("ka", "zor", "mi", "ne", "ro", "sh", "ax", "el", "vo", "tri", "pu", "dex", "qu", "an", "ly")
_COLOURS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _player_name(rng: random.Random) -> str:
    """An ET-style name: syllables, sometimes a clan tag, colour codes (^x) sprinkled in."""
    base = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
    if rng.random() < 0.3:
        base = f"[{rng.choice(_SYLLABLES).upper()}] {base}"
    out = []
    for ch in base:
        if rng.random() < 0.25:
            out.append(f"^{rng.choice(_COLOURS)}")
        out.append(ch.upper() if rng.random() < 0.2 else ch)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class _Player:
    guid: bytes
    names: tuple[bytes, ...]  # the first is the usual one; the others are renames


def _population(size: int, rng: random.Random) -> list[_Player]:
    guids: set[bytes] = set()
    players: list[_Player] = []
    while len(players) < size:
        guid = f"{rng.getrandbits(32):08X}".encode()
        if guid in guids or guid.startswith(b"OMNIBOT"):
            continue
        guids.add(guid)
        renames = rng.choices((0, 1, 2, 5, 9), weights=(60, 20, 10, 7, 3))[0]
        names = tuple(_player_name(rng).encode() for _ in range(1 + renames))
        players.append(_Player(guid, names))
    return players


def varied(count: int, *, players: int = 5000, seed: int = 7) -> Iterator[tuple[str, bytes]]:
    """`count` distinct files like `replicate`, but each copy of the sample set is played by other people
    on other maps: every GUID of a copy is one of `players` regulars (a few play most rounds, many play
    rarely: Zipf-like weights), shown under one of its names (some rename often), and every map of a copy
    is drawn from MAP_POOL. Within a copy a GUID and a map are replaced the same way in every file, so
    round 1/round 2 pairs stay pairs and the differential sees the same players. Omni-bots stay as they
    are (keyed by name). Content otherwise unchanged: the numbers are the real ones.
    """
    rng = random.Random(seed)
    population = _population(players, rng)
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(players)]
    base = real_samples()
    who: dict[bytes, _Player] = {}  # this copy's original GUID -> the regular who plays it
    taken: set[int] = set()
    maps: dict[str, str] = {}
    for index, (name, data) in enumerate(replicate(count, base)):
        if index % len(base) == 0:  # a new copy of the sample set: other people, other maps
            who, taken, maps = {}, set(), {}
        yield _varied_file(name, data, rng, population, weights, who, taken, maps)


def _varied_file(
    name: str,
    data: bytes,
    rng: random.Random,
    population: list[_Player],
    weights: list[float],
    who: dict[bytes, _Player],
    taken: set[int],
    maps: dict[str, str],
) -> tuple[str, bytes]:
    parsed = parse_filename(name)
    new_map = maps.setdefault(parsed.map, rng.choice(MAP_POOL))
    lines = data.split(b"\n")
    header = lines[0].split(b"\\")
    header[1] = new_map.encode()
    out = [b"\\".join(header)]
    for line in lines[1:]:
        guid, sep, rest = line.partition(b"\\")
        if not sep or guid.startswith(b"OMNIBOT"):
            out.append(line)
            continue
        player = who.get(guid)
        if player is None:
            while True:
                pick = rng.choices(range(len(population)), weights)[0]
                if pick not in taken:
                    break
            taken.add(pick)
            player = who[guid] = population[pick]
        _old_name, _, tail = rest.partition(b"\\")
        shown = player.names[0] if rng.random() < 0.8 else rng.choice(player.names)
        out.append(b"\\".join((player.guid, shown, tail)))
    new_name = name.replace(f"-{parsed.map}-round-", f"-{new_map}-round-")
    return new_name, b"\n".join(out)
