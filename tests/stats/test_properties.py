"""Property tests: arbitrary bytes only ever raise ParseError; R1 + R2-only == R2 cumulative."""

from __future__ import annotations

import contextlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import ParseError
from bot.stats import anomalies
from bot.stats.differential import round2_only
from bot.stats.model import CUMULATIVE_EXTRAS, EXTRA_FIELDS_BY_COUNT, RECOMPUTED_EXTRAS, WEAPON_SLOTS
from bot.stats.parser import parse_endstats, parse_round
from tests.stats.builders import R1_NAME, R2_NAME, extras_values, header, player_line, stats_file

SAMPLE = "2025-10-14-212214-etl_adlernest-round-1.txt"
ENDSTATS = "2026-01-12-224606-te_escape2-round-2-endstats.txt"


def _parse_or_parse_error(name: str, data: bytes) -> None:
    with contextlib.suppress(ParseError):
        parse_round(name, data)


@settings(deadline=None, max_examples=300)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_raise_only_parse_error(data: bytes) -> None:
    _parse_or_parse_error(R1_NAME, data)


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_real_file_raises_only_parse_error(samples_dir: Path, data: st.DataObject) -> None:
    raw = bytearray((samples_dir / SAMPLE).read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["replace", "delete", "insert", "truncate"]))
        byte = data.draw(st.sampled_from([*b"\\\t\n\r .-:0123456789^", 0x00, 0x80, 0xC3, 0xFF]))
        if op == "replace":
            raw[pos] = byte
        elif op == "delete":
            del raw[pos]
        elif op == "insert":
            raw.insert(pos, byte)
        else:
            del raw[pos:]
        if not raw:
            break
    _parse_or_parse_error(SAMPLE, bytes(raw))


@settings(deadline=None, max_examples=100, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_mutated_endstats_raises_only_parse_error(samples_dir: Path, data: st.DataObject) -> None:
    raw = bytearray((samples_dir / ENDSTATS).read_bytes())
    pos = data.draw(st.integers(0, len(raw) - 1))
    raw[pos] = data.draw(st.sampled_from([*b"\t\n\r x9", 0xFF]))
    with contextlib.suppress(ParseError):
        parse_endstats(ENDSTATS, bytes(raw))


_COUNTER = st.integers(0, 400)


@st.composite
def _round_pair(draw: st.DrawFn) -> tuple[bytes, bytes, int]:
    """An R1 file and an R2 file whose engine counters only grow (no counter reset)."""
    count = draw(st.sampled_from(sorted(EXTRA_FIELDS_BY_COUNT)))
    names = EXTRA_FIELDS_BY_COUNT[count]
    r1_lines: list[str] = []
    r2_lines: list[str] = []
    for i in range(draw(st.integers(1, 6))):
        guid = f"ABCD{i:04X}"
        slots = draw(st.lists(st.sampled_from(WEAPON_SLOTS), min_size=1, max_size=5, unique=True))
        w1: dict[str, tuple[int, int, int, int, int]] = {}
        w2: dict[str, tuple[int, int, int, int, int]] = {}
        for slot in slots:
            hits, shots, kills, deaths = (draw(_COUNTER) for _ in range(4))
            head = draw(st.integers(0, hits))
            w1[slot] = (hits, shots, kills, deaths, head)
            more = [draw(_COUNTER) for _ in range(4)]
            head2 = head + draw(st.integers(0, more[0]))  # a head hit is also a hit
            w2[slot] = (hits + more[0], shots + more[1], kills + more[2], deaths + more[3], head2)
        extra_slot = draw(st.sampled_from(WEAPON_SLOTS))  # a slot first used in R2
        if extra_slot not in w2:
            w2[extra_slot] = (1, 2, 0, 0, 1)
        e1: dict[str, float] = {}
        e2: dict[str, float] = {}
        for name in names:
            if name == "time_played_min":
                e1[name] = draw(st.integers(0, 200)) / 10
                e2[name] = e1[name] + draw(st.integers(0, 200)) / 10
            elif name in CUMULATIVE_EXTRAS:
                e1[name] = draw(_COUNTER)
                e2[name] = e1[name] + draw(_COUNTER)
            else:
                e1[name] = draw(st.integers(0, 50))
                e2[name] = draw(st.integers(0, 50))
        r1_lines.append(player_line(guid, f"p{i}", team=1, weapons=w1, extras=extras_values(count, e1)))
        r2_lines.append(
            player_line(guid, f"p{i}", rounds=1, team=2, weapons=w2, extras=extras_values(count, e2))
        )
    r1 = stats_file(header("supply", 1, "10:00", "6:00"), r1_lines)
    r2 = stats_file(header("supply", 2, "6:00", "6:00", winner=1), r2_lines)
    return r1, r2, count


@settings(deadline=None, max_examples=150)
@given(_round_pair())
def test_round1_plus_round2_only_equals_round2_cumulative(pair: tuple[bytes, bytes, int]) -> None:
    r1 = parse_round(R1_NAME, pair[0])
    r2 = parse_round(R2_NAME, pair[1])
    only = round2_only(r1, r2)
    assert anomalies.ROUND2_ONLY in only.flags
    before = {p.key: p for p in r1.players}
    for cum, diff in zip(r2.players, only.players, strict=True):
        first = before[cum.key]
        assert not diff.flags & {anomalies.COUNTER_RESET, anomalies.JOINED_IN_R2}
        w1 = {w.weapon: w for w in first.weapons}
        assert [w.weapon for w in diff.weapons] == [w.weapon for w in cum.weapons]
        for w_cum, w_diff in zip(cum.weapons, diff.weapons, strict=True):
            w_first = w1.get(w_cum.weapon)
            for attr in ("hits", "shots", "kills", "deaths", "headshots"):
                base = getattr(w_first, attr) if w_first else 0
                assert base + getattr(w_diff, attr) == getattr(w_cum, attr)
        for attr in ("kills", "deaths", "shots", "hits", "headshot_hits"):
            assert getattr(first, attr) + getattr(diff, attr) == getattr(cum, attr)
        for name in CUMULATIVE_EXTRAS & set(cum.extras):
            if name == "bullets_fired" and pair[2] != 38:
                assert diff.extras[name] == diff.shots  # B2: Σ shots replaces the running total
                continue
            assert abs(first.extras[name] + diff.extras[name] - cum.extras[name]) < 1e-9
        for name in set(cum.extras) - CUMULATIVE_EXTRAS - RECOMPUTED_EXTRAS:
            assert diff.extras[name] == cum.extras[name]  # per-round fields: raw
