"""Build synthetic stats files in the exact c0rnp0rn layout, for malformed-input and property tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.stats.model import EXTRA_FIELDS_BY_COUNT, FLOAT_EXTRAS, WEAPON_SLOTS

Weapon = tuple[int, int, int, int, int]  # hits, shots, kills, deaths, headshots


def header(
    map_name: str = "supply",
    round_number: int = 1,
    limit: str = "10:00",
    next_limit: str = "5:00",
    *,
    defender: int = 1,
    winner: int = 2,
    duration: str | None = None,
) -> str:
    fields = ["^1srv", map_name, "legacy3", str(round_number), str(defender), str(winner), limit, next_limit]
    if duration is not None:
        fields.append(duration)
    return "\\".join(fields)


def weapon_block(weapons: Mapping[str, Weapon]) -> str:
    mask = 0
    numbers: list[int] = []
    for bit, slot in enumerate(WEAPON_SLOTS):
        if slot in weapons:
            mask |= 1 << bit
            numbers.extend(weapons[slot])
    return " ".join(str(n) for n in (mask, *numbers)) + " "


def extras_values(count: int = 38, values: Mapping[str, float] | None = None) -> list[str]:
    given = dict(values or {})
    out: list[str] = []
    for name in EXTRA_FIELDS_BY_COUNT[count]:
        value = given.get(name, 0)
        out.append(f"{float(value):.1f}" if name in FLOAT_EXTRAS else str(int(value)))
    return out


def player_line(
    guid: str = "ABCDEF01",
    name: str = "^1player",
    *,
    rounds: int = 0,
    team: int = 1,
    weapons: Mapping[str, Weapon] | None = None,
    extras: Sequence[str] | None = None,
) -> str:
    block = weapon_block(weapons if weapons is not None else {"mp40": (5, 10, 2, 1, 1)})
    tail = "\t".join(extras if extras is not None else extras_values())
    return f"{guid}\\{name}\\{rounds}\\{team}\\{block}\t{tail}"


def stats_file(head: str, lines: Sequence[str], *, final_newline: bool = True) -> bytes:
    text = "\n".join([head, *lines]) + ("\n" if final_newline else "")
    return text.encode("utf-8")


R1_NAME = "2025-10-02-213333-supply-round-1.txt"
R2_NAME = "2025-10-02-214239-supply-round-2.txt"
