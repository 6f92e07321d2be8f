"""The bulk road of player_lines accepts only what the checked road accepts, with equal records."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.errors import ParseError
from bot.stats import player_lines
from bot.stats.model import EXTRA_FIELDS_BY_COUNT, FLOAT_EXTRAS, WEAPON_SLOTS
from bot.stats.text import decode, split_lines
from tests.stats.builders import R1_NAME, extras_values, header, player_line, stats_file

_ALPHABET = "0123456789 .-\t\\_\n\r^é²"


def _lines(data: bytes) -> list[str]:
    return split_lines(decode(data))[0]


def _checked(name: str, lines: list[str]) -> str | ParseError:
    """The checked road's answer (players, count), as text: repr() tells 5 from 5.0, which == would not."""
    numbered = [(i, line) for i, line in enumerate(lines, 1) if line and not line.isspace()]
    try:
        return repr(player_lines._checked_players(name, numbered[1:]))
    except ParseError as exc:
        return exc


def _agree(name: str, data: bytes) -> bool:
    """Assert the bulk road matches the checked road on `data`; True when the bulk road accepted it."""
    lines = _lines(data)
    if len(lines) < 2 or any(not line or line.isspace() for line in lines):
        return False  # read_players sends these to the checked road without trying the bulk one
    bulk = player_lines._bulk_players(name, lines)
    checked = _checked(name, lines)
    if bulk is None:
        return False
    assert not isinstance(checked, ParseError), f"bulk accepted what the checks refuse: {checked}"
    assert repr(bulk) == checked
    return True


def _real_files(samples_dir: Path) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(samples_dir.glob("*-round-[12].txt"))]


def test_every_real_file_takes_the_bulk_road_with_equal_records(samples_dir: Path) -> None:
    files = _real_files(samples_dir)
    with_players = [(name, data) for name, data in files if len(_lines(data)) > 1]
    assert len(with_players) > 50
    for name, data in with_players:
        assert _agree(name, data), f"{name} fell back to the checked road"


def test_mutated_real_files_agree_or_fall_back(samples_dir: Path) -> None:
    rnd = random.Random(20261121)
    files = _real_files(samples_dir)
    accepted = refused = 0
    for _ in range(4000):
        name, data = rnd.choice(files)
        text = bytearray(data)
        for _ in range(rnd.randint(1, 3)):
            i = rnd.randrange(len(text))
            c = rnd.choice(_ALPHABET).encode()
            op = rnd.randrange(3)
            text[i : i + (op != 1)] = b"" if op == 2 else c
        if _agree(name, bytes(text)):
            accepted += 1
        else:
            refused += 1
    assert accepted > 500  # both outcomes exercised
    assert refused > 500


@pytest.mark.parametrize(
    "extras_edit",
    [
        lambda e: ["007", *e[1:]],  # leading zeros: int() reads them, JSON does not
        lambda e: ["-5", *e[1:]],  # a negative number: never written by the mod
        lambda e: ["5.0", *e[1:]],  # an int field written as a float: an error
        lambda e: [*e[:8], "78", *e[9:]],  # a float field written as an int: 78.0
        lambda e: [*e[:8], "1.123456789", *e[9:]],  # a long fraction
        lambda e: [*e[:8], "1234567.5", *e[9:]],  # a float above the bulk road's bound
        lambda e: ["9" * 16, *e[1:]],  # longer than MAX_DIGITS: an error
        lambda e: ["9" * 14, *e[1:]],  # an int above the bulk road's bound
        lambda e: [*e, ""],  # a trailing TAB
        lambda e: e[:35],  # a count of no generation
    ],
)
def test_numbers_json_would_not_write_go_to_the_checked_road(extras_edit: object) -> None:
    assert callable(extras_edit)
    extras = extras_edit(extras_values(38, {"time_played_pct": 78.5, "damage_given": 100}))
    data = stats_file(header(), [player_line(), player_line("ABCDEF02", extras=extras)])
    lines = _lines(data)
    assert player_lines._bulk_players(R1_NAME, lines) is None
    checked = _checked(R1_NAME, lines)
    numbered = list(enumerate(lines, 1))
    try:
        answer: str | ParseError = repr(player_lines.read_players(R1_NAME, lines, numbered))
    except ParseError as exc:
        answer = exc
    if isinstance(checked, ParseError):
        assert isinstance(answer, ParseError)
        assert (answer.line, answer.field, answer.reason) == (checked.line, checked.field, checked.reason)
    else:
        assert answer == checked


@pytest.mark.parametrize(
    "weapon_text",
    ["", " ", "1  5 10 2 1 1 ", " 1 5 10 2 1 1", "01 5 10 2 1 1 ", "1 5 10 2 1 9 ", f"1 {'9' * 16} 1 1 1 1 "],
)
def test_odd_weapon_blocks_go_to_the_checked_road(weapon_text: str) -> None:
    line = f"ABCDEF02\\^1b\\0\\1\\{weapon_text}\t" + "\t".join(extras_values(38))
    lines = _lines(stats_file(header(), [player_line(), line]))
    assert player_lines._bulk_players(R1_NAME, lines) is None


# Sizes real files hold, or (in one file of two) up to past the bulk road's bounds, where it must
# fall back: ints below 10**14, floats below 10**6.
_SMALL = (st.integers(0, 10**4), st.integers(0, 10**5), st.floats(0, 1000))
_LARGE = (st.integers(0, 10**15), st.integers(0, 10**15), st.floats(0, 10**8))


@st.composite
def _file(draw: st.DrawFn) -> bytes:
    count = draw(st.sampled_from(sorted(EXTRA_FIELDS_BY_COUNT)))
    counter, int_extra, float_extra = _LARGE if draw(st.booleans()) else _SMALL
    lines = []
    for i in range(draw(st.integers(1, 8))):
        slots = draw(st.lists(st.sampled_from(WEAPON_SLOTS), max_size=6, unique=True))
        weapons = {}
        for slot in slots:
            hits, shots, kills, deaths = (draw(counter) for _ in range(4))
            weapons[slot] = (hits, shots, kills, deaths, draw(st.integers(0, hits)))
        values = {
            name: round(draw(float_extra), 1) if name in FLOAT_EXTRAS else draw(int_extra)
            for name in EXTRA_FIELDS_BY_COUNT[count]
        }
        name = draw(st.text(st.characters(blacklist_characters="\\\n\r", codec="utf-8"), max_size=12))
        guid = "OMNIBOT0" if draw(st.booleans()) and i % 3 == 0 else f"ABCD{i:04X}"
        lines.append(
            player_line(
                guid,
                name,
                rounds=draw(st.integers(0, 99)),
                team=draw(st.integers(0, 3)),
                weapons=weapons,
                extras=extras_values(count, values),
            )
        )
    return stats_file(header(), lines)


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(_file())
def test_generated_files_agree(data: bytes) -> None:
    event("bulk road" if _agree(R1_NAME, data) else "checked road")
