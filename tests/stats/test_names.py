"""File-name grammar (§3) and the remote-name safety check."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import ParseError
from bot.stats.model import FileKind
from bot.stats.names import parse_filename, unsafe_name_reason


def test_stats_name_parts() -> None:
    name = parse_filename("2025-10-02-232339-erdenberg_t2-round-1.txt")
    assert name.played_at == dt.datetime(2025, 10, 2, 23, 23, 39)
    assert (name.map, name.round_number, name.kind) == ("erdenberg_t2", 1, FileKind.STATS)
    assert name.stem == name.filename


@pytest.mark.parametrize(
    ("filename", "kind", "stem"),
    [
        (
            "2026-01-12-224606-te_escape2-round-2-endstats.txt",
            FileKind.ENDSTATS,
            "2026-01-12-224606-te_escape2-round-2.txt",
        ),
        (
            "2025-10-02-232339-supply-round-1_ws.txt",
            FileKind.WEAPON_STATS,
            "2025-10-02-232339-supply-round-1.txt",
        ),
    ],
)
def test_companion_names(filename: str, kind: FileKind, stem: str) -> None:
    name = parse_filename(filename)
    assert name.kind is kind
    assert name.stem == stem


def test_greedy_map_splits_at_last_round_suffix() -> None:
    name = parse_filename("2025-10-02-232339-my-round-1-map-round-2.txt")
    assert (name.map, name.round_number) == ("my-round-1-map", 2)


@pytest.mark.parametrize(
    ("filename", "reason_part"),
    [
        ("2025-10-02-232339-supply-round-3.txt", "not 1 or 2"),
        ("2025-10-02-232339-supply-round-0.txt", "not 1 or 2"),
        ("2025-13-02-232339-supply-round-1.txt", "month"),
        ("2025-00-02-232339-supply-round-1.txt", "month"),
        ("2025-10-32-232339-supply-round-1.txt", "day"),
        ("2025-10-00-232339-supply-round-1.txt", "day"),
        ("2025-02-30-232339-supply-round-1.txt", "invalid date"),
        ("2025-10-02-242339-supply-round-1.txt", "hour"),
        ("2025-10-02-236039-supply-round-1.txt", "minute"),
        ("2025-10-02-232360-supply-round-1.txt", "second"),
        ("2019-10-02-232339-supply-round-1.txt", "year"),
        ("2036-10-02-232339-supply-round-1.txt", "year"),
        ("2025-10-02-232339-" + "m" * 51 + "-round-1.txt", "map name longer"),
        ("2025-10-02-232339-supply-round-1_engagements.txt", "does not match"),
        ("2025-10-02-232339-supply-round-1.txt.part", "does not match"),
        ("2025-10-02-232339--round-1.txt", "does not match"),
        ("matchid.txt", "does not match"),
        ("2025-10-02-232339-sup ply-round-1.txt", "whitespace"),
        ("2025-10-02-232339-a/b-round-1.txt", "separator"),
        ("2025-10-02-232339-a..b-round-1.txt", "'..'"),
        ("2025-10-02-232339-supply-round-١.txt", "does not match"),
        ("", "empty"),
    ],
)
def test_bad_names_raise_parse_error(filename: str, reason_part: str) -> None:
    with pytest.raises(ParseError) as info:
        parse_filename(filename)
    assert info.value.line == 0
    assert info.value.field == "filename"
    assert info.value.file == filename
    assert reason_part in info.value.reason


def test_map_of_fifty_chars_is_accepted() -> None:
    assert parse_filename("2025-10-02-232339-" + "m" * 50 + "-round-1.txt").map == "m" * 50


@pytest.mark.parametrize(
    ("name", "reason_part"),
    [
        ("", "empty"),
        ("a/b.txt", "separator"),
        ("a\\b.txt", "separator"),
        ("a..b", "'..'"),
        ("..", "'..'"),
        ("a\x00b", "NUL"),
        ("a\nb", "control"),
        ("a\x1bb", "control"),
        ("a\x7fb", "control"),
        (".hidden", "starts with '.'"),
        ("x" * 256, "255 bytes"),
        ("é" * 128, "255 bytes"),
        ("bad\udcffname.txt", "not valid UTF-8"),
    ],
)
def test_unsafe_names(name: str, reason_part: str) -> None:
    reason = unsafe_name_reason(name)
    assert reason is not None
    assert reason_part in reason


@pytest.mark.parametrize("name", ["2025-10-02-232339-supply-round-1.txt", "x" * 255, "é" * 127, "notes.md"])
def test_safe_names(name: str) -> None:
    assert unsafe_name_reason(name) is None
