"""The parser's one-regex fast path proves exactly what its part-by-part checks prove."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.stats import player_lines
from bot.stats.model import WeaponStats, make_weapon
from bot.stats.text import decode, split_lines

# Characters that sit on the borders of what the checks accept: separators, signs, non-ASCII digits.
_ALPHABET = "0123456789 .-\t\\_xAfF^é²٣\r"


def _real_player_lines(samples_dir: Path) -> list[str]:
    lines: list[str] = []
    for path in sorted(samples_dir.glob("*-round-[12].txt")):
        text_lines, _complete = split_lines(decode(path.read_bytes()))
        lines.extend(line for line in text_lines[1:] if line and not line.isspace())
    return lines


def _mutations(lines: list[str], count: int) -> list[str]:
    """Single-character replacements, insertions and deletions at random places (fixed seed)."""
    rnd = random.Random(20261121)
    out: list[str] = []
    for _ in range(count):
        line = rnd.choice(lines)
        i = rnd.randrange(len(line))
        c = rnd.choice(_ALPHABET)
        op = rnd.randrange(3)
        out.append(
            line[:i] + c + line[i + 1 :]
            if op == 0
            else line[:i] + c + line[i:]
            if op == 1
            else line[:i] + line[i + 1 :]
        )
    return out


def _checked(line: str) -> tuple[str, str, str, str, str, str, bool] | ParseError:
    try:
        return player_lines._checked_parts("f.txt", 2, line)
    except ParseError as exc:
        return exc


def test_fast_path_agrees_with_the_checks_on_real_and_mutated_lines(samples_dir: Path) -> None:
    lines = _real_player_lines(samples_dir)
    assert len(lines) > 300
    fast_hits = slow_only = 0
    for line in [*lines, *_mutations(lines, 6000)]:
        match = player_lines._PLAYER_RE.fullmatch(line)
        checked = _checked(line)
        if match is not None:
            fast_hits += 1
            assert checked == (*match.groups(), True), line
        else:
            slow_only += 1
            # The regex refused the line, so the checks must refuse it too (an error now, or bad
            # extras characters reported after the weapon block).
            assert isinstance(checked, ParseError) or checked[-1] is False, line
    assert fast_hits > len(lines)  # both sides were exercised
    assert slow_only > 1000


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("8C49608C\\a\\0\\1\\16 5 10 2 1 1\t1\tx", "player.extras"),  # count before characters
        ("8C49608C\\a\\0\\1\\16 5 10 2 1 9\t1\tx", "player.weapons"),  # weapon block before extras
        ("8C49608C\\a\\0\\1\\16 5 10 2 1 1", "player.extras"),  # no TAB at all
    ],
)
def test_checks_keep_their_order_behind_the_fast_path(line: str, field: str) -> None:
    with pytest.raises(ParseError) as info:
        player_lines._checked_player("f.txt", 2, line)
    assert info.value.field == field


def test_make_weapon_builds_the_named_tuple() -> None:
    weapon = make_weapon(("mp40", 5, 10, 2, 1, 1))
    assert type(weapon) is WeaponStats
    assert weapon == WeaponStats("mp40", 5, 10, 2, 1, 1)
    assert (weapon.weapon, weapon.hits, weapon.headshots) == ("mp40", 5, 1)
