"""settle_in_order: pair_rounds' pairs, in order, holding only the open round 1 and what follows it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.stats.differential import round2_only
from bot.stats.model import ParsedRound, RoundRef
from bot.stats.pairing import DEFAULT_WINDOW, Pairer, can_pair, pair_rounds, pairing_order, round_ref
from bot.stats.parser import parse_round
from bot.stats.stream import settle_in_order
from tests.stats.builders import header, player_line, stats_file

BASE = dt.datetime(2025, 10, 14, 22, 0, 0)


def _real_rounds(samples_dir: Path) -> list[ParsedRound]:
    rounds = [parse_round(p.name, p.read_bytes()) for p in samples_dir.glob("*-round-[12].txt")]
    return sorted(rounds, key=lambda r: pairing_order(round_ref(r)))


def _round(minute: int, number: int, limit: str = "10:00", next_limit: str = "5:00") -> ParsedRound:
    at = BASE + dt.timedelta(minutes=minute)
    name = f"{at:%Y-%m-%d-%H%M%S}-supply-round-{number}.txt"
    line = player_line(rounds=number)  # a round 2 whose players all have ROUNDS 0 never pairs (B11)
    return parse_round(name, stats_file(header("supply", number, limit, next_limit), [line]))


def test_real_samples_settle_as_pair_rounds_pairs_them(samples_dir: Path) -> None:
    rounds = _real_rounds(samples_dir)
    settled = list(settle_in_order((r.filename, r) for r in rounds))
    assert [s.item for s in settled] == [r.filename for r in rounds]  # same order, every file once
    pairing = pair_rounds(round_ref(r) for r in rounds)
    partners = {s.item: s.partner.filename for s in settled if s.partner is not None}
    assert partners == {**pairing.pairs, **{r1: r2 for r2, r1 in pairing.pairs.items()}}
    assert len(pairing.pairs) >= 15
    for s in settled:
        assert s.parsed is not None
        if s.item in pairing.pairs:
            assert s.partner is not None
            assert s.shown == round2_only(s.partner, s.parsed)
        else:
            assert s.shown is s.parsed


def test_items_wait_behind_the_open_round_1_and_no_longer() -> None:
    r1, r2, later_r1 = _round(0, 1), _round(8, 2, "5:00"), _round(20, 1)
    items: list[tuple[str, ParsedRound | None]] = [
        ("a", r1), ("error", None), ("b", r2), ("note", None), ("c", later_r1),
    ]  # fmt: skip
    fed: list[str] = []

    def source() -> Iterator[tuple[str, ParsedRound | None]]:
        for item in items:
            fed.append(item[0])
            yield item

    stream = settle_in_order(source())
    first = next(stream)
    assert (first.item, fed) == ("a", ["a", "error", "b"])  # released once its round 2 came
    assert first.partner is r2
    assert [next(stream).item, next(stream).item, next(stream).item] == ["error", "b", "note"]
    assert fed == ["a", "error", "b", "note"]  # nothing read ahead once nothing waits
    assert next(stream).item == "c"  # the open round 1 at the end: no round 2
    with pytest.raises(StopIteration):
        next(stream)


def test_a_round_1_past_its_window_is_released_before_the_end() -> None:
    r1 = _round(0, 1)
    far = _round(int(DEFAULT_WINDOW.total_seconds() // 60) + 1, 2, "5:00")
    fed: list[str] = []

    def source() -> Iterator[tuple[str, ParsedRound | None]]:
        for item in [("a", r1), ("b", far), ("c", _round(90, 2, "5:00"))]:
            fed.append(item[0])
            yield item

    stream = settle_in_order(source())
    first = next(stream)
    assert (first.item, first.partner, fed) == ("a", None, ["a", "b"])


def test_rounds_out_of_pairing_order_are_refused() -> None:
    with pytest.raises(ValueError, match="pairing order"):
        list(settle_in_order([("b", _round(8, 2, "5:00")), ("a", _round(0, 1))]))


def _reference_pairs(refs: list[RoundRef]) -> tuple[dict[str, str], set[str], set[str]]:
    """§10 as the first implementation wrote it, without the Pairer's early closing: the oracle."""
    pairs: dict[str, str] = {}
    orphans: set[str] = set()
    lone: set[str] = set()
    open_r1: RoundRef | None = None
    seen: set[str] = set()
    for ref in sorted(refs, key=pairing_order):
        if ref.filename in seen:
            continue
        seen.add(ref.filename)
        if ref.round_number == 1:
            if open_r1 is not None:
                lone.add(open_r1.filename)
            open_r1 = ref if ref.pairable else None
            if not ref.pairable:
                lone.add(ref.filename)
        elif open_r1 is not None and can_pair(open_r1, ref):
            pairs[ref.filename] = open_r1.filename
            open_r1 = None
        else:
            orphans.add(ref.filename)
    if open_r1 is not None:
        lone.add(open_r1.filename)
    return pairs, orphans, lone


_REF = st.builds(
    lambda minute, number, limit, next_limit, map_name, pairable: RoundRef(
        filename=f"{BASE + dt.timedelta(minutes=minute):%Y-%m-%d-%H%M%S}-{map_name}-round-{number}.txt",
        played_at=BASE + dt.timedelta(minutes=minute),
        map=map_name,
        round_number=number,
        time_limit_raw=limit,
        next_time_limit_raw=next_limit,
        pairable=pairable,
    ),
    st.integers(0, 200),
    st.sampled_from([1, 2]),
    st.sampled_from(["10:00", "5:00"]),
    st.sampled_from(["10:00", "5:00", "0:00"]),
    st.sampled_from(["supply", "adler"]),
    st.sampled_from([True, True, True, False]),  # mostly pairable
)


@settings(deadline=None, max_examples=400)
@given(st.lists(_REF, max_size=25))
def test_pair_rounds_equals_the_first_implementation(refs: list[RoundRef]) -> None:
    pairing = pair_rounds(refs)
    pairs, orphans, lone = _reference_pairs(refs)
    assert dict(pairing.pairs) == pairs
    assert pairing.orphan_round2 == orphans
    assert pairing.lone_round1 == lone


def test_pairer_reports_each_decision_once() -> None:
    pairer = Pairer()
    r1 = round_ref(_round(0, 1))
    assert pairer.add(r1).opened
    assert pairer.add(r1).closed == ()  # the same file again is one file
    step = pairer.add(round_ref(_round(8, 2, "5:00")))
    assert step.paired_with == r1.filename
    assert pairer.finish() is None
