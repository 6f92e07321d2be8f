"""Name matching, periods and ranking helpers (pure)."""

from __future__ import annotations

import datetime as dt

from bot.stats.matching import (
    EXACT,
    NO_MATCH,
    PREFIX,
    SUBSEQUENCE,
    SUBSTRING,
    WORD_PREFIX,
    best_matches,
    match_rank,
    normalise,
    period_start_day,
    plural,
    ranked,
    subsequence_pattern,
)


def test_normalise_drops_colour_codes_spaces_and_case() -> None:
    assert normalise("  ^1.^7OLZ ") == ".olz"
    assert normalise("^^1a") == "^a"


def test_match_ranks() -> None:
    assert match_rank("olz", "olz") == EXACT
    assert match_rank("ol", "olz") == PREFIX
    assert match_rank("olz", "slomix.olz") == WORD_PREFIX
    assert match_rank("lz", "olz") == SUBSTRING
    assert match_rank("chpkbr", ".chupakabra") == SUBSEQUENCE
    assert match_rank("xyz", "olz") == NO_MATCH
    assert subsequence_pattern("a_%") == "%a%\\_%\\%%"


def test_best_matches_keep_the_best_alias_per_player() -> None:
    found = best_matches("ol", [("A", ".olz", 3), ("A", "olz", 1), ("B", "olga", 9), ("C", "xx", 50)], 5)
    assert found == [("B", "olga", 9), ("A", "olz", 1)]  # both prefixes: more rounds first; C drops


def test_periods_are_whole_days() -> None:
    today = dt.date(2025, 11, 11)
    assert period_start_day("today", today) == "2025-11-11"
    assert period_start_day("week", today) == "2025-11-05"
    assert period_start_day("month", today) == "2025-10-13"
    assert period_start_day("all", today) is None


def test_plural_and_ranked() -> None:
    assert [plural(1, "round"), plural(2, "round"), plural(1204, "round")] == [
        "1 round",
        "2 rounds",
        "1,204 rounds",
    ]
    assert ranked([("b", 5, 1.0), ("a", 5, 1.0), ("c", 9, 1.0), ("d", 1, 2.0)]) == [
        (1, "d", 1, 2.0),
        (2, "c", 9, 1.0),
        (3, "a", 5, 1.0),
        (4, "b", 5, 1.0),
    ]
