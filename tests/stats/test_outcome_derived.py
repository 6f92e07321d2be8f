"""Round results, match outcomes (§11) and derived numbers (§5.1, §7.2)."""

from __future__ import annotations

import pytest

from bot.stats.derived import accuracy, dpm, duration_s, kd
from bot.stats.differential import match_totals, round2_only
from bot.stats.model import Header
from bot.stats.outcome import match_outcome, round_result
from bot.stats.parser import parse_round
from tests.stats.builders import R1_NAME, R2_NAME, extras_values, header, player_line, stats_file


def make_header(round_number: int, defender: int, winner: int, limit: int | None, nxt: int | None) -> Header:
    return Header(
        server_name="s",
        map="m",
        config="",
        round_number=round_number,
        defender=defender,
        winner=winner,
        time_limit_raw="",
        next_time_limit_raw="",
        time_limit_s=limit,
        next_time_limit_s=nxt,
        duration_ms=None,
        field_count=8,
    )


@pytest.mark.parametrize(
    ("defender", "winner", "limit", "nxt", "result"),
    [
        (1, 2, 600, 138, "completed"),
        (1, 1, 600, 600, "held"),
        (2, 1, 600, 300, "completed"),  # etl_ice: Allies defend
        (2, 2, 600, 600, "held"),
        (1, 0, 600, 300, "completed"),  # no winner: the times decide
        (1, 0, 600, 600, "held"),
        (1, 0, 600, None, "held"),
    ],
)
def test_round_result(defender: int, winner: int, limit: int, nxt: int | None, result: str) -> None:
    assert round_result(make_header(1, defender, winner, limit, nxt)) == result


def test_match_outcomes() -> None:
    r1_done = make_header(1, 1, 2, 600, 300)
    r1_held = make_header(1, 1, 1, 600, 600)
    r2_done = make_header(2, 1, 2, 300, 250)
    r2_held = make_header(2, 1, 1, 300, 300)
    beaten = match_outcome(r1_done, r2_done)
    assert (beaten.outcome, beaten.winner_team, beaten.r1_time_s, beaten.r2_time_s) == (
        "r2_attackers",
        2,
        300,
        250,
    )
    kept = match_outcome(r1_done, r2_held)
    assert (kept.outcome, kept.winner_team, kept.r2_time_s) == ("r1_attackers", 1, 300)
    draw = match_outcome(r1_held, make_header(2, 1, 1, 600, 600))
    assert (draw.outcome, draw.winner_team, draw.r1_time_s) == ("draw", None, 600)
    late = match_outcome(r1_held, make_header(2, 1, 2, 600, 500))
    assert (late.outcome, late.winner_team) == ("r2_attackers", 2)
    ice = match_outcome(make_header(1, 2, 1, 600, 200), make_header(2, 2, 2, 200, 200))
    assert (ice.outcome, ice.winner_team) == ("r1_attackers", 2)
    assert match_outcome(r1_held, r2_held).outcome == "draw"


def _one(weapons: dict[str, tuple[int, int, int, int, int]], damage: int = 600) -> bytes:
    line = player_line(
        weapons=weapons, extras=extras_values(38, {"damage_given": damage, "time_played_min": 5.0})
    )
    return stats_file(header(), [line])


def test_accuracy_dpm_kd() -> None:
    p = parse_round(R1_NAME, _one({"mp40": (10, 40, 3, 2, 1), "thompson": (0, 0, 0, 1, 0)})).players[0]
    assert accuracy(p) == 25.0
    assert dpm(p, 300) == 120.0
    assert dpm(p, 0) is None
    assert dpm(p, None) is None
    assert kd(p) == 1.0
    lone = parse_round(R1_NAME, _one({"knife": (0, 0, 4, 0, 0)})).players[0]
    assert accuracy(lone) is None
    assert kd(lone) == 4.0


def test_duration_sources() -> None:
    nine = parse_round(R1_NAME, stats_file(header(limit="12:00", next_limit="11:57", duration="716261"), []))
    assert duration_s(nine) == 716
    completed = parse_round(R1_NAME, stats_file(header(limit="10:00", next_limit="2:18"), []))
    assert duration_s(completed) == 138
    held_early = parse_round(
        R1_NAME,
        stats_file(
            header(limit="10:00", next_limit="10:00", winner=1),
            [player_line(extras=extras_values(38, {"time_played_min": 4.0}))],
        ),
    )
    assert duration_s(held_early) == 240  # surrendered: TAB 22, not the limit
    held_full = parse_round(
        R1_NAME,
        stats_file(
            header(limit="10:00", next_limit="10:00", winner=1),
            [player_line(extras=extras_values(38, {"time_played_min": 9.9}))],
        ),
    )
    assert duration_s(held_full) == 600  # within TAB 22's 6-s resolution: ran out
    orphan_held = parse_round(
        R2_NAME, stats_file(header(round_number=2, limit="5:00", next_limit="5:00", winner=1), [])
    )
    assert duration_s(orphan_held) == 300


def test_match_totals_sum_round_fields_and_keep_cumulative_ones() -> None:
    e1 = extras_values(38, {"damage_given": 100, "xp": 10, "time_played_min": 5.0, "time_dead_min": 1.0})
    e2 = extras_values(38, {"damage_given": 250, "xp": 7, "time_played_min": 9.0, "time_dead_min": 2.0})
    r1 = parse_round(
        R1_NAME,
        stats_file(
            header(),
            [
                player_line("AAAAAAAA", weapons={"mp40": (1, 4, 1, 0, 0)}, extras=e1),
                player_line("BBBBBBBB", weapons={"mp40": (1, 1, 1, 1, 0)}, extras=e1),
            ],
        ),
    )
    r2 = parse_round(
        R2_NAME,
        stats_file(
            header(round_number=2, limit="5:00", next_limit="5:00", winner=1),
            [player_line("AAAAAAAA", rounds=1, team=2, weapons={"mp40": (3, 9, 2, 1, 1)}, extras=e2)],
        ),
    )
    totals = {p.guid: p for p in match_totals(r1, r2)}
    a = totals["AAAAAAAA"]
    assert (a.kills, a.deaths, a.shots) == (2, 1, 9)  # the R2 line already holds R1 + R2 engine counters
    assert (a.extras["damage_given"], a.extras["xp"], a.extras["time_dead_min"]) == (250, 17, 3.0)
    assert a.extras["time_dead_ratio"] == round(100 * 3.0 / 9.0, 1)
    assert a.extras["kd_ratio"] == 2.0
    assert totals["BBBBBBBB"] == r1.players[1]  # left after R1: his R1 line is his match
    only = {p.guid: p for p in round2_only(r1, r2).players}["AAAAAAAA"]
    assert (only.kills, only.deaths, only.shots, only.extras["damage_given"], only.extras["xp"]) == (
        1,
        1,
        5,
        150,
        7,
    )
    assert only.extras["time_played_min"] == 4.0
    assert only.extras["time_dead_ratio"] == 50.0
    assert only.extras["kd_ratio"] == 1.0


def test_match_totals_after_counter_reset_adds_both_lines() -> None:
    e1 = extras_values(38, {"damage_given": 900, "time_played_min": 6.0})
    e2 = extras_values(38, {"damage_given": 400, "time_played_min": 5.0})
    r1 = parse_round(
        R1_NAME, stats_file(header(), [player_line(weapons={"mp40": (5, 20, 4, 2, 1)}, extras=e1)])
    )
    r2 = parse_round(
        R2_NAME,
        stats_file(
            header(round_number=2, limit="5:00", next_limit="5:00", winner=1),
            [
                player_line(
                    rounds=1, team=2, weapons={"mp40": (2, 8, 1, 1, 0), "luger": (1, 2, 1, 0, 0)}, extras=e2
                )
            ],
        ),
    )
    (total,) = match_totals(r1, r2)
    assert (total.kills, total.deaths, total.shots) == (6, 3, 30)
    assert [w.weapon for w in total.weapons] == ["luger", "mp40"]  # slot order, like the mask
    assert (total.extras["damage_given"], total.extras["time_played_min"]) == (1300, 11.0)
    (only,) = round2_only(r1, r2).players
    assert "counter_reset" in only.flags
    assert (only.kills, only.extras["damage_given"]) == (2, 400)


def test_joined_in_round2_is_raw_and_flagged() -> None:
    r1 = parse_round(R1_NAME, stats_file(header(), [player_line("AAAAAAAA")]))
    r2 = parse_round(
        R2_NAME,
        stats_file(
            header(round_number=2, limit="5:00", next_limit="5:00"), [player_line("CCCCCCCC", team=2)]
        ),
    )
    (only,) = round2_only(r1, r2).players
    assert "joined_in_r2" in only.flags
    assert only.kills == r2.players[0].kills


def test_knife_shots_shrinking_and_vanished_slot_are_clamped() -> None:
    e = extras_values(38)
    r1 = parse_round(
        R1_NAME,
        stats_file(
            header(), [player_line(weapons={"knife": (2, 9, 1, 0, 0), "mp40": (1, 1, 0, 0, 0)}, extras=e)]
        ),
    )
    r2 = parse_round(
        R2_NAME,
        stats_file(
            header(round_number=2, limit="5:00", next_limit="5:00"),
            [player_line(rounds=1, team=2, weapons={"knife": (3, 7, 1, 0, 0)}, extras=e)],
        ),
    )
    (only,) = round2_only(r1, r2).players
    assert "counter_reset" not in only.flags  # shrinking knife shots are no reset
    assert [(w.weapon, w.hits, w.shots) for w in only.weapons] == [("knife", 1, 0)]
