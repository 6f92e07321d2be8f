"""Anomaly flags (§12): flagged, never fixed."""

from __future__ import annotations

from bot.stats import anomalies
from bot.stats.differential import round2_only
from bot.stats.pairing import round_ref
from bot.stats.parser import parse_round
from tests.stats.builders import R1_NAME, R2_NAME, extras_values, header, player_line, stats_file


def test_bots_are_keyed_by_name_and_flagged() -> None:
    lines = [player_line("OMNIBOT0", "^1[BOT]Alpha"), player_line("OMNIBOT0", "^2[BOT]Bravo", team=2)]
    parsed = parse_round(R1_NAME, stats_file(header(), lines))
    assert [p.key for p in parsed.players] == ["OMNIBOT0:[BOT]Alpha", "OMNIBOT0:[BOT]Bravo"]
    assert all(anomalies.BOT in p.flags for p in parsed.players)
    assert anomalies.HAS_BOTS in parsed.flags


def test_bot_differential_matches_by_name() -> None:
    r1 = parse_round(
        R1_NAME, stats_file(header(), [player_line("OMNIBOT0", "A", weapons={"mp40": (1, 2, 1, 0, 0)})])
    )
    r2_lines = [
        player_line("OMNIBOT0", "B", team=2, weapons={"mp40": (1, 2, 1, 0, 0)}),
        player_line("OMNIBOT0", "A", team=2, weapons={"mp40": (3, 5, 2, 0, 0)}),
    ]
    r2 = parse_round(R2_NAME, stats_file(header(round_number=2, limit="5:00"), r2_lines))
    b, a = round2_only(r1, r2).players
    assert anomalies.JOINED_IN_R2 in b.flags
    assert (a.kills, a.shots) == (1, 3)


def test_player_value_flags() -> None:
    bad = extras_values(
        38, {"time_played_min": 2.0, "time_dead_min": 3.5, "time_dead_ratio": 175.0, "kd_ratio": 9.0}
    )
    fine = extras_values(
        38, {"time_played_min": 2.0, "time_dead_min": 0.5, "time_dead_ratio": 25.0, "kd_ratio": 3.0}
    )
    weapons = {"mp40": (5, 10, 2, 1, 1)}  # kd from weapon sums: 2 / 1 = 2.0
    parsed = parse_round(
        R1_NAME,
        stats_file(
            header(),
            [player_line(weapons=weapons, extras=bad), player_line("ABCDEF02", weapons=weapons, extras=fine)],
        ),
    )
    flagged, clean = parsed.players
    assert {
        anomalies.DEAD_TIME_ABOVE_PLAYED,
        anomalies.RATIO_ABOVE_100,
        anomalies.KD_MISMATCH,
    } <= flagged.flags
    assert anomalies.KD_MISMATCH in clean.flags  # 3.0 is not 2.0 either
    assert anomalies.DEAD_TIME_ABOVE_PLAYED not in clean.flags
    assert flagged.extras["time_dead_min"] == 3.5  # flags, not fixes


def test_kd_with_no_deaths_follows_the_mod() -> None:
    extras = extras_values(38, {"kd_ratio": 3.0})
    parsed = parse_round(
        R1_NAME, stats_file(header(), [player_line(weapons={"mp40": (5, 10, 2, 0, 1)}, extras=extras)])
    )
    assert anomalies.KD_MISMATCH not in parsed.players[0].flags  # kills + 1 without deaths


def test_header_flags() -> None:
    zero_limit = parse_round(R1_NAME, stats_file(header(limit="0:00", next_limit="0:00"), []))
    assert {
        anomalies.TIME_LIMIT_ZERO,
        anomalies.NEXT_TIME_LIMIT_ZERO,
        anomalies.HEADER_ONLY,
    } <= zero_limit.flags
    assert zero_limit.header.time_limit_s is None
    invalid_r1 = parse_round(R1_NAME, stats_file(header(limit="10:00", next_limit="71:05"), [player_line()]))
    assert anomalies.NEXT_TIME_LIMIT_INVALID in invalid_r1.flags
    assert anomalies.SHUTDOWN_PATH not in invalid_r1.flags
    invalid_r2 = parse_round(
        R2_NAME,
        stats_file(header(round_number=2, limit="10:00", next_limit="71:05"), [player_line(rounds=1)]),
    )
    assert {anomalies.NEXT_TIME_LIMIT_INVALID, anomalies.SHUTDOWN_PATH} <= invalid_r2.flags
    assert not round_ref(invalid_r2).pairable


def test_round2_with_all_rounds_zero_is_shutdown_path() -> None:
    r2 = parse_round(
        R2_NAME, stats_file(header(round_number=2, limit="5:00", next_limit="5:00"), [player_line(rounds=0)])
    )
    assert anomalies.SHUTDOWN_PATH in r2.flags
    normal = parse_round(
        R2_NAME, stats_file(header(round_number=2, limit="5:00", next_limit="5:00"), [player_line(rounds=1)])
    )
    assert anomalies.SHUTDOWN_PATH not in normal.flags
    assert round_ref(normal).pairable
