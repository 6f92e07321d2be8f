"""The endstats companion file (§13)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import IncompleteFileError, ParseError
from bot.stats.parser import parse_endstats

NAME = "2026-01-12-224606-te_escape2-round-2-endstats.txt"


def test_real_sample(samples_dir: Path) -> None:
    parsed = parse_endstats(NAME, (samples_dir / NAME).read_bytes())  # CRLF copy
    assert parsed.name.round_number == 2
    assert len(parsed.awards) == 23
    assert (parsed.awards[0].award, parsed.awards[0].player, parsed.awards[0].value) == (
        "Most damage given",
        "vid",
        "3214",
    )
    assert [a.award for a in parsed.awards].count("Longest killing spree") == 2
    assert parsed.awards[18].value == "113 seconds"
    assert len(parsed.versus) == 18
    first = parsed.versus[0]
    assert (first.player, first.opponent, first.kills, first.deaths, first.line) == (
        None,
        "carniee",
        4,
        0,
        24,
    )


def test_vs_header_blocks() -> None:
    data = (
        b"Most kills per minute\tvid\t1.78\n"
        b"VS_HEADER\tvid\tD8423F90AAAABBBBCCCCDDDDEEEEFFFF\n"
        b"carniee\t4\t0\n"
        b"VS_HEADER\tcarniee\t0A26D447AAAABBBBCCCCDDDDEEEEFFFF\n"
        b"vid\t0\t4\n"
    )
    parsed = parse_endstats(NAME, data)
    assert len(parsed.awards) == 1
    assert [(v.player, v.player_guid[:8] if v.player_guid else None, v.opponent) for v in parsed.versus] == [
        ("vid", "D8423F90", "carniee"),
        ("carniee", "0A26D447", "vid"),
    ]


def test_unknown_award_with_text_value_is_an_award() -> None:
    parsed = parse_endstats(NAME, b"Most shiny hats\tvid\t7 hats\nvid\t1\t2\n")
    assert [a.award for a in parsed.awards] == ["Most shiny hats"]
    assert len(parsed.versus) == 1


@pytest.mark.parametrize(
    ("data", "line", "field"),
    [
        (b"Most damage given\tvid\n", 1, "endstats"),
        (b"vid\t1\t2\nMost damage given\tvid\t3 percent\n", 2, "endstats.kills"),
        (b"vid\t1\t2\nbob\t1\tx\n", 2, "endstats.deaths"),
    ],
)
def test_bad_lines(data: bytes, line: int, field: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_endstats(NAME, data)
    assert (info.value.line, info.value.field) == (line, field)


def test_half_written_and_wrong_kind() -> None:
    with pytest.raises(IncompleteFileError):
        parse_endstats(NAME, b"Most damage given\tvid\t32")
    with pytest.raises(IncompleteFileError):
        parse_endstats(NAME, b"")
    with pytest.raises(ParseError) as info:
        parse_endstats("2026-01-12-224606-te_escape2-round-2.txt", b"x\t1\t2\n")
    assert info.value.field == "filename"
