"""Anomaly flags (§12): flagged, never fixed."""

from __future__ import annotations

from pathlib import Path

from bot.stats import anomalies
from bot.stats.differential import round2_only
from bot.stats.model import ParsedRound, PlayerStats
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


def _real(samples_dir: Path, name: str) -> ParsedRound:
    return parse_round(name, (samples_dir / name).read_bytes())


def _r2_only(samples_dir: Path, r1_name: str, r2_name: str) -> dict[str, PlayerStats]:
    r2 = round2_only(_real(samples_dir, r1_name), _real(samples_dir, r2_name))
    return {p.guid: p for p in r2.players}


def test_b7_flags_are_judged_on_round2_only_values(samples_dir: Path) -> None:
    """The raw R2 line compares dead time with CUMULATIVE minutes; the R2-only line must be judged again."""
    players = _r2_only(
        samples_dir,
        "2025-10-02-211808-etl_adlernest-round-1.txt",
        "2025-10-02-212249-etl_adlernest-round-2.txt",
    )
    endekk = players["7B84BE88"]
    assert endekk.extras["time_dead_min"] > endekk.extras["time_played_min"]  # 3.9 dead in 3.8 played
    assert anomalies.DEAD_TIME_ABOVE_PLAYED in endekk.flags  # flagged, value kept (flags, not fixes)
    assert anomalies.RATIO_ABOVE_100 in endekk.flags
    fine = [p for p in players.values() if p.extras["time_dead_min"] <= p.extras["time_played_min"]]
    assert fine
    assert all(anomalies.DEAD_TIME_ABOVE_PLAYED not in p.flags for p in fine)

    qmr = _r2_only(
        samples_dir, "2025-10-19-214330-supply-round-1.txt", "2025-10-19-215817-supply-round-2.txt"
    )["652EB4A6"]
    assert qmr.extras["time_dead_min"] == 220.7
    assert {anomalies.DEAD_TIME_ABOVE_PLAYED, anomalies.RATIO_ABOVE_100} <= qmr.flags


def test_bullets_fired_is_sum_of_shots_for_every_line_of_an_old_generation_round2_only() -> None:
    """B2: before v38 the field is a running total; joined and reset lines must not keep it either."""
    garbage = {"bullets_fired": 8844, "time_played_min": 5.0, "damage_given": 300}
    r1 = parse_round(
        R1_NAME,
        stats_file(
            header("supply", 1),
            [
                player_line("AAAAAAAA", "a", team=1, extras=extras_values(37, garbage)),
                player_line("CCCCCCCC", "reset", team=1, extras=extras_values(37, garbage)),
            ],
        ),
    )
    later = {**garbage, "bullets_fired": 9999, "time_played_min": 9.0, "damage_given": 600}
    reset = {**garbage, "bullets_fired": 9999, "time_played_min": 2.0, "damage_given": 100}  # below R1
    r2_lines = [
        player_line(
            "AAAAAAAA",
            "a",
            rounds=1,
            team=2,
            weapons={"mp40": (9, 30, 4, 2, 1)},
            extras=extras_values(37, later),
        ),
        player_line("CCCCCCCC", "reset", rounds=1, team=2, extras=extras_values(37, reset)),
        player_line("BBBBBBBB", "joiner", rounds=0, team=1, extras=extras_values(37, later)),
    ]
    r2 = round2_only(r1, parse_round(R2_NAME, stats_file(header("supply", 2, "5:00", "5:00"), r2_lines)))
    flags = {p.guid: p.flags for p in r2.players}
    assert anomalies.COUNTER_RESET in flags["CCCCCCCC"]
    assert anomalies.JOINED_IN_R2 in flags["BBBBBBBB"]
    for p in r2.players:
        assert p.extras["bullets_fired"] == p.shots, p.guid
