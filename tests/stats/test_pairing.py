"""Pairing (§10): chronological walk, one open R1, header invariant, window, midnight, replays, shutdown."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.stats.model import RoundRef
from bot.stats.pairing import DEFAULT_WINDOW, can_pair, pair_rounds

BASE = dt.datetime(2025, 10, 14, 22, 0, 0)


def ref(
    minute: float,
    round_number: int,
    limit: str = "10:00",
    next_limit: str = "5:00",
    *,
    map_name: str = "supply",
    pairable: bool = True,
) -> RoundRef:
    at = BASE + dt.timedelta(minutes=minute)
    return RoundRef(
        filename=f"{at:%Y-%m-%d-%H%M%S}-{map_name}-round-{round_number}.txt",
        played_at=at,
        map=map_name,
        round_number=round_number,
        time_limit_raw=limit,
        next_time_limit_raw=next_limit,
        pairable=pairable,
    )


def test_default_window_is_45_minutes() -> None:
    assert dt.timedelta(minutes=45) == DEFAULT_WINDOW


def test_simple_pair() -> None:
    r1, r2 = ref(0, 1, "10:00", "5:00"), ref(8, 2, "5:00", "5:00")
    assert can_pair(r1, r2)
    pairing = pair_rounds([r2, r1])
    assert pairing.pairs == {r2.filename: r1.filename}
    assert pairing.orphan_round2 == frozenset()
    assert pairing.lone_round1 == frozenset()


@pytest.mark.parametrize(
    ("r1", "r2"),
    [
        (ref(0, 1, "10:00", "5:00"), ref(8, 2, "5:01", "5:01")),  # field 6 != field 7
        (ref(0, 1, "10:00", "5:00"), ref(8, 2, "5:00.0", "5:00")),  # byte for byte, not by value
        (ref(0, 1, map_name="supply"), ref(8, 2, "5:00", map_name="etl_supply")),  # other map
        (ref(0, 1), ref(45.1, 2, "5:00")),  # beyond the window
        (ref(8, 1), ref(0, 2, "5:00")),  # R1 later than the R2
        (ref(0, 1), ref(0, 2, "5:00")),  # same second: not strictly earlier
        (ref(0, 1, pairable=False), ref(8, 2, "5:00")),
        (ref(0, 1), ref(8, 2, "5:00", pairable=False)),
        (ref(0, 2, "5:00"), ref(8, 2, "5:00")),  # two R2s
    ],
)
def test_cannot_pair(r1: RoundRef, r2: RoundRef) -> None:
    assert not can_pair(r1, r2)


def test_window_edge_and_custom_window() -> None:
    r1, r2 = ref(0, 1), ref(45, 2, "5:00")
    assert can_pair(r1, r2)
    assert not can_pair(r1, r2, window=dt.timedelta(minutes=10))
    assert pair_rounds([r1, r2], window=dt.timedelta(minutes=10)).orphan_round2 == {r2.filename}


def test_midnight_crossover_pairs_by_full_datetime() -> None:
    at1 = dt.datetime(2025, 11, 1, 23, 55, 15)
    at2 = dt.datetime(2025, 11, 2, 0, 6, 24)
    r1 = RoundRef("2025-11-01-235515-etl_adlernest-round-1.txt", at1, "etl_adlernest", 1, "10:00", "10:00")
    r2 = RoundRef("2025-11-02-000624-etl_adlernest-round-2.txt", at2, "etl_adlernest", 2, "10:00", "10:00")
    # A later-in-the-day R1 of the previous date must not confuse a sort by time of day.
    other = RoundRef(
        "2025-11-01-000100-supply-round-1.txt", dt.datetime(2025, 11, 1, 0, 1), "supply", 1, "1", "1"
    )
    pairing = pair_rounds([r2, other, r1])
    assert pairing.pairs == {r2.filename: r1.filename}
    assert pairing.lone_round1 == {other.filename}


def test_replay_with_a_lost_round1_does_not_steal_the_previous_match() -> None:
    # te_escape2 twice in a row; the second R1 file is lost. The R2 of the second match must not pair
    # with the first match's R1 (B17): that R1 was already consumed by its own R2.
    first_r1 = ref(0, 1, "10:00", "4:10", map_name="te_escape2")
    first_r2 = ref(6, 2, "4:10", "4:10", map_name="te_escape2")
    second_r2 = ref(19, 2, "3:30", "3:30", map_name="te_escape2")
    pairing = pair_rounds([first_r1, first_r2, second_r2])
    assert pairing.pairs == {first_r2.filename: first_r1.filename}
    assert pairing.orphan_round2 == {second_r2.filename}


def test_replay_lost_round2_leaves_first_round1_alone() -> None:
    a1 = ref(0, 1, "10:00", "4:10", map_name="te_escape2")
    b1 = ref(9, 1, "10:00", "4:10", map_name="te_escape2")
    b2 = ref(15, 2, "4:10", "4:10", map_name="te_escape2")
    pairing = pair_rounds([b2, b1, a1])
    assert pairing.pairs == {b2.filename: b1.filename}
    assert pairing.lone_round1 == {a1.filename}


def test_abandoned_round1_is_lone_and_does_not_capture_the_next_round2() -> None:
    abandoned = ref(0, 1, "10:00", "10:00")  # 202140: restart before its R2
    new_r1 = ref(13, 1, "10:00", "7:00")
    r2 = ref(22, 2, "10:00", "10:00")  # field 6 happens to match the abandoned R1's field 7
    pairing = pair_rounds([abandoned, new_r1, r2])
    assert pairing.lone_round1 == {abandoned.filename, new_r1.filename}
    assert pairing.orphan_round2 == {r2.filename}
    assert pairing.pairs == {}


def test_shutdown_orphan_round2_is_never_paired_and_closes_the_open_round1() -> None:
    r1 = ref(0, 1, "10:00", "10:00", map_name="etl_sp_delivery")
    shutdown = ref(5, 2, "10:00", "71:05", map_name="etl_sp_delivery", pairable=False)
    later_r1 = ref(17, 1, "12:00", "12:00", map_name="etl_sp_delivery")
    later_r2 = ref(30, 2, "12:00", "11:08", map_name="etl_sp_delivery")
    pairing = pair_rounds([later_r2, shutdown, r1, later_r1])
    assert pairing.pairs == {later_r2.filename: later_r1.filename}
    assert pairing.orphan_round2 == {shutdown.filename}
    assert pairing.lone_round1 == {r1.filename}


def test_one_round1_serves_one_round2() -> None:
    r1 = ref(0, 1, "10:00", "5:00")
    r2a, r2b = ref(8, 2, "5:00"), ref(9, 2, "5:00")  # e.g. a duplicate save (B26)
    pairing = pair_rounds([r1, r2a, r2b])
    assert pairing.pairs == {r2a.filename: r1.filename}
    assert pairing.orphan_round2 == {r2b.filename}


def test_same_ref_twice_counts_once() -> None:
    r1, r2 = ref(0, 1), ref(8, 2, "5:00")
    assert pair_rounds([r1, r2, r1, r2]).pairs == {r2.filename: r1.filename}


def test_empty_input() -> None:
    pairing = pair_rounds([])
    assert (dict(pairing.pairs), pairing.orphan_round2, pairing.lone_round1) == ({}, frozenset(), frozenset())


def test_an_orphan_round2_does_not_consume_the_open_round1() -> None:
    """§10: only a pair consumes the open R1; a stray R2 (shared folder, shutdown path) is just an orphan."""
    r1 = ref(0, 1, "10:00", "6:12")
    stray = ref(3, 2, "4:00", "4:00", map_name="etl_ice")
    shutdown = ref(4, 2, "6:12", "71:05", pairable=False)
    r2 = ref(9, 2, "6:12", "6:12")
    result = pair_rounds([r1, stray, shutdown, r2])
    assert dict(result.pairs) == {r2.filename: r1.filename}
    assert result.orphan_round2 == {stray.filename, shutdown.filename}
    assert result.lone_round1 == frozenset()
