"""Every real sample parses, and every §15 ground-truth value of STATS_FORMAT.md holds (15.1 and 15.2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.stats import anomalies
from bot.stats.derived import duration_s
from bot.stats.differential import round2_only
from bot.stats.model import ParsedRound, PlayerStats
from bot.stats.names import parse_filename
from bot.stats.outcome import match_outcome, round_result
from bot.stats.pairing import pair_rounds, round_ref
from bot.stats.parser import parse_round

ERDENBERG_R1 = "2025-10-02-232339-erdenberg_t2-round-1.txt"
ERDENBERG_R2 = "2025-10-02-232818-erdenberg_t2-round-2.txt"
SUPPLY_R1 = "2025-11-01-212527-supply-round-1.txt"
SUPPLY_R2 = "2025-11-01-213712-supply-round-2.txt"
ADLER_MIDNIGHT_R1 = "2025-11-01-235515-etl_adlernest-round-1.txt"
ADLER_MIDNIGHT_R2 = "2025-11-02-000624-etl_adlernest-round-2.txt"
ADLER_R1 = "2025-10-14-212214-etl_adlernest-round-1.txt"
ADLER_R2 = "2025-10-14-212521-etl_adlernest-round-2.txt"
DELIVERY_R1 = "2025-10-26-201727-etl_sp_delivery-round-1.txt"
DELIVERY_R2 = "2025-10-26-203013-etl_sp_delivery-round-2.txt"


def _load(samples_dir: Path, name: str) -> ParsedRound:
    return parse_round(name, (samples_dir / name).read_bytes())


def _player(parsed: ParsedRound, guid: str) -> PlayerStats:
    (player,) = [p for p in parsed.players if p.guid == guid]
    return player


def _value(p: PlayerStats, field: str) -> object:
    if field in ("kills", "deaths", "shots", "hits", "headshot_hits", "team", "rounds"):
        return getattr(p, field)
    return p.extras[field]


def _r2_only(samples_dir: Path, r1: str, r2: str) -> ParsedRound:
    return round2_only(_load(samples_dir, r1), _load(samples_dir, r2))


def test_every_sample_parses(samples_dir: Path) -> None:
    names = sorted(p.name for p in samples_dir.glob("*-round-[12].txt"))
    assert len(names) == 61
    for name in names:
        parsed = _load(samples_dir, name)
        assert parsed.filename == name
        assert parsed.extras_fields in (None, 33, 36, 37, 38)
        assert anomalies.NO_FINAL_NEWLINE not in parsed.flags
        for p in parsed.players:
            assert p.kills == sum(w.kills for w in p.weapons)
            assert len(p.extras) == parsed.extras_fields


# (guid, kills, deaths, damage_given, headshot_kills TAB 14, weapon head hits) — source A, R1 raw.
ERDENBERG_R1_TRUTH = [
    ("D8423F90", 11, 6, 2426, 1, 10),
    ("1C747DF1", 9, 10, 2029, 2, 10),
    ("7B84BE88", 13, 10, 1773, 4, 11),
    ("5D989160", 8, 8, 1863, 1, 1),
    ("652EB4A6", 3, 11, 1402, 0, 4),
    ("EDBB5DA9", 12, 11, 2147, 4, 10),
]


@pytest.mark.parametrize(("guid", "kills", "deaths", "damage", "hs_kills", "head_hits"), ERDENBERG_R1_TRUTH)
def test_15_1_erdenberg_round1(
    samples_dir: Path, guid: str, kills: int, deaths: int, damage: int, hs_kills: int, head_hits: int
) -> None:
    p = _player(_load(samples_dir, ERDENBERG_R1), guid)
    assert (p.kills, p.deaths, p.extras["damage_given"]) == (kills, deaths, damage)
    assert (p.extras["headshot_kills"], p.headshot_hits) == (hs_kills, head_hits)
    assert p.extras["time_played_min"] == 7.5


# (guid, kills, deaths, damage_given, head hits, raw per-round headshot_kills) — source A, R2-only.
ERDENBERG_R2_TRUTH = [
    ("D8423F90", 5, 6, 1135, 4, 0),
    ("652EB4A6", 5, 5, 646, 2, 0),
    ("7B84BE88", 4, 7, 700, 6, 3),
    ("5D989160", 5, 4, 1360, 6, 1),
    ("1C747DF1", 2, 6, 917, 1, 0),
    ("EDBB5DA9", 10, 3, 1339, 5, 2),
]


@pytest.mark.parametrize(("guid", "kills", "deaths", "damage", "head_hits", "hs_kills"), ERDENBERG_R2_TRUTH)
def test_15_1_erdenberg_round2_only(
    samples_dir: Path, guid: str, kills: int, deaths: int, damage: int, head_hits: int, hs_kills: int
) -> None:
    p = _player(_r2_only(samples_dir, ERDENBERG_R1, ERDENBERG_R2), guid)
    assert (p.kills, p.deaths, p.extras["damage_given"], p.headshot_hits) == (
        kills,
        deaths,
        damage,
        head_hits,
    )
    assert p.extras["headshot_kills"] == hs_kills  # per-round field: raw, never subtracted (B15)
    assert p.extras["time_played_min"] == 4.0


def test_15_1_erdenberg_header_times(samples_dir: Path) -> None:
    r1, r2 = _load(samples_dir, ERDENBERG_R1), _load(samples_dir, ERDENBERG_R2)
    assert (r1.header.next_time_limit_raw, duration_s(r1)) == ("7:27", 447)
    assert (r2.header.time_limit_raw, duration_s(round2_only(r1, r2))) == ("7:27", 240)


@pytest.mark.parametrize(
    ("guid", "kills", "deaths", "head_hits"),
    [("4D5B6107", 16, 14, 19), ("11EDBD24", 13, 11, 9), ("1C8F69CA", 22, 8, 32)],
)
def test_15_1_supply_round2_only(
    samples_dir: Path, guid: str, kills: int, deaths: int, head_hits: int
) -> None:
    p = _player(_r2_only(samples_dir, SUPPLY_R1, SUPPLY_R2), guid)
    assert (p.kills, p.deaths, p.headshot_hits) == (kills, deaths, head_hits)


def test_15_1_adlernest_midnight_round2_only(samples_dir: Path) -> None:
    p = _player(_r2_only(samples_dir, ADLER_MIDNIGHT_R1, ADLER_MIDNIGHT_R2), "0A26D447")
    assert (p.kills, p.extras["damage_given"], p.headshot_hits, p.extras["bullets_fired"]) == (
        20,
        3350,
        32,
        471,
    )


def test_15_2_adlernest_header(samples_dir: Path) -> None:
    h = _load(samples_dir, ADLER_R1).header
    assert h.field_count == 8
    assert (h.map, h.config, h.round_number, h.defender, h.winner) == ("etl_adlernest", "legacy3", 1, 1, 2)
    assert (h.time_limit_raw, h.next_time_limit_raw) == ("10:00", "2:18")
    assert (h.time_limit_s, h.next_time_limit_s, h.duration_ms) == (600, 138, None)
    assert round_result(h) == "completed"


def test_15_2_endekk_weapons_and_values(samples_dir: Path) -> None:
    p = _player(_load(samples_dir, ADLER_R1), "7B84BE88")
    assert [w.weapon for w in p.weapons] == ["mp40", "thompson", "grenade", "syringe"]
    assert [(w.hits, w.shots, w.kills, w.deaths, w.headshots) for w in p.weapons] == [
        (6, 12, 2, 1, 2),
        (20, 52, 5, 0, 5),
        (3, 2, 1, 0, 0),
        (1, 1, 0, 0, 0),
    ]
    assert (p.kills, p.deaths, p.extras["damage_given"]) == (8, 1, 759)
    assert (p.extras["denied_playtime"], p.extras["revives_given"], p.extras["kd_ratio"]) == (42, 1, 8.0)
    assert p.extras["bullets_fired"] == p.shots == 67


def test_15_2_adlernest_round2(samples_dir: Path) -> None:
    raw = _load(samples_dir, ADLER_R2)
    assert (raw.header.time_limit_raw, raw.header.next_time_limit_raw, raw.header.winner) == (
        "2:18",
        "2:18",
        1,
    )
    assert round_result(raw.header) == "held"
    only = _player(_r2_only(samples_dir, ADLER_R1, ADLER_R2), "7B84BE88")
    assert (only.kills, only.deaths, only.extras["damage_given"], only.extras["damage_received"]) == (
        4,
        3,
        842,
        772,
    )
    assert only.extras["time_played_min"] == 2.3
    per_round = ("xp", "headshot_kills", "denied_playtime", "revives_given", "time_dead_min")
    assert tuple(only.extras[k] for k in per_round) == (16, 2, 18, 0, 1.7)
    assert tuple(_player(raw, "7B84BE88").extras[k] for k in per_round) == (16, 2, 18, 0, 1.7)


@pytest.mark.parametrize(
    ("name", "guid", "expected"),
    [
        ("2024-04-16-220731-te_escape2-round-1.txt", "8C49608C", {"useful_kills": 9, "multikill_2": 1}),
        (
            "2025-01-06-221847-supply-round-2.txt",
            "FDA127DF",
            {"denied_playtime": 96, "useless_kills": 6, "full_selfkills": 1},
        ),
        (
            "2024-09-11-212540-supply-round-1.txt",
            "FDA127DF",
            {"damage_given": 0, "kd_ratio": 1.0, "time_played_pct": 100.0, "kills": 0, "deaths": 0},
        ),
        ("2025-10-02-213333-supply-round-1.txt", "652EB4A6", {"kills": 13, "deaths": 17, "kd_ratio": 0.7}),
        ("2025-10-23-221355-etl_sp_delivery-round-2.txt", "D8423F90", {"team": 3}),
        ("2025-10-23-221355-etl_sp_delivery-round-2.txt", "0A26D447", {"team": 3}),
        (
            "2025-10-19-215817-supply-round-2.txt",
            "652EB4A6",
            {"time_dead_min": 220.7, "time_dead_ratio": 1150.3},
        ),
    ],
)
def test_15_2_raw_values(samples_dir: Path, name: str, guid: str, expected: dict[str, object]) -> None:
    p = _player(_load(samples_dir, name), guid)
    assert {k: _value(p, k) for k in expected} == expected


def test_15_2_generations_by_field_count(samples_dir: Path) -> None:
    p33 = _player(_load(samples_dir, "2024-04-16-220731-te_escape2-round-1.txt"), "8C49608C")
    assert len(p33.extras) == 33
    assert "denied_playtime" not in p33.extras
    assert list(p33.extras)[28:] == [
        "multikill_2",
        "multikill_3",
        "multikill_4",
        "multikill_5",
        "multikill_6",
    ]
    assert len(_load(samples_dir, "2025-01-06-221847-supply-round-2.txt").players[0].extras) == 36


def test_15_2_flags_on_known_bugs(samples_dir: Path) -> None:
    assert (
        anomalies.KD_MISMATCH
        in _player(_load(samples_dir, "2025-10-02-213333-supply-round-1.txt"), "652EB4A6").flags
    )
    qmr = _player(_load(samples_dir, "2025-10-19-215817-supply-round-2.txt"), "652EB4A6")
    assert {anomalies.DEAD_TIME_ABOVE_PLAYED, anomalies.RATIO_ABOVE_100} <= qmr.flags
    spectators = _load(samples_dir, "2025-10-23-221355-etl_sp_delivery-round-2.txt")
    assert anomalies.HAS_SPECTATORS in spectators.flags
    assert anomalies.SPECTATOR in _player(spectators, "D8423F90").flags
    outlier = _player(_load(samples_dir, "2025-01-06-221847-supply-round-2.txt"), "5D989160")
    assert outlier.extras["denied_playtime"] == 5838
    assert anomalies.DENIED_TIME_OUTLIER in outlier.flags
    zero = _load(samples_dir, "2025-01-10-221224-etl_adlernest-round-2.txt")
    assert anomalies.NEXT_TIME_LIMIT_ZERO in zero.flags
    assert zero.header.next_time_limit_s is None


def test_15_2_header_only_file(samples_dir: Path) -> None:
    parsed = _load(samples_dir, "2024-09-12-174949-supply-round-2.txt")
    assert parsed.players == ()
    assert parsed.extras_fields is None
    assert anomalies.HEADER_ONLY in parsed.flags


def test_15_2_shutdown_path_orphan(samples_dir: Path) -> None:
    parsed = _load(samples_dir, "2025-10-26-200001-etl_sp_delivery-round-2.txt")
    assert parsed.header.next_time_limit_raw == "71:05"
    assert parsed.header.next_time_limit_s is None  # above field 6: unusable (B5)
    assert all(p.rounds == 0 for p in parsed.players)
    assert {anomalies.SHUTDOWN_PATH, anomalies.NEXT_TIME_LIMIT_INVALID} <= parsed.flags
    assert round_ref(parsed).pairable is False


def test_15_2_counter_reset_uses_raw_line(samples_dir: Path) -> None:
    p = _player(_r2_only(samples_dir, DELIVERY_R1, DELIVERY_R2), "C74FB315")
    assert anomalies.COUNTER_RESET in p.flags
    assert (p.kills, p.extras["damage_given"], p.extras["time_played_min"]) == (14, 1449, 11.1)


def test_15_2_held_round2_real_duration(samples_dir: Path) -> None:
    r1 = _load(samples_dir, "2025-11-11-222141-te_escape2-round-1.txt")
    r2 = _load(samples_dir, "2025-11-11-222353-te_escape2-round-2.txt")
    assert (r2.header.time_limit_raw, r2.header.next_time_limit_raw) == ("1:53", "1:53")
    assert duration_s(r2, r1) == 78  # TAB 22: 3.2 - 1.9 = 1.3 min, not the 1:53 limit
    assert duration_s(round2_only(r1, r2)) == 78


def test_15_2_midnight_pair_is_a_draw(samples_dir: Path) -> None:
    r1, r2 = _load(samples_dir, ADLER_MIDNIGHT_R1), _load(samples_dir, ADLER_MIDNIGHT_R2)
    pairing = pair_rounds([round_ref(r2), round_ref(r1)])
    assert pairing.pairs == {ADLER_MIDNIGHT_R2: ADLER_MIDNIGHT_R1}
    assert r2.header.time_limit_raw == r1.header.next_time_limit_raw == "10:00"
    outcome = match_outcome(r1.header, r2.header)
    assert (outcome.outcome, outcome.winner_team) == ("draw", None)


def test_15_2_replay_pairs_with_the_later_round1(samples_dir: Path) -> None:
    names = [
        "2025-10-14-220707-te_escape2-round-1.txt",
        "2025-10-14-221259-te_escape2-round-2.txt",
        "2025-10-14-221625-te_escape2-round-1.txt",
        "2025-10-14-221952-te_escape2-round-2.txt",
    ]
    pairing = pair_rounds(round_ref(_load(samples_dir, n)) for n in names)
    assert (
        pairing.pairs["2025-10-14-221952-te_escape2-round-2.txt"]
        == "2025-10-14-221625-te_escape2-round-1.txt"
    )
    assert (
        pairing.pairs["2025-10-14-221259-te_escape2-round-2.txt"]
        == "2025-10-14-220707-te_escape2-round-1.txt"
    )


def test_whole_sample_set_pairing(samples_dir: Path) -> None:
    refs = [round_ref(_load(samples_dir, p.name)) for p in samples_dir.glob("*-round-[12].txt")]
    pairing = pair_rounds(refs)
    assert "2025-10-17-202140-supply-round-1.txt" in pairing.lone_round1  # abandoned R1 (B12)
    assert pairing.pairs["2025-10-17-204311-supply-round-2.txt"] == "2025-10-17-203425-supply-round-1.txt"
    assert "2025-10-26-200001-etl_sp_delivery-round-2.txt" in pairing.orphan_round2
    assert pairing.pairs[DELIVERY_R2] == DELIVERY_R1
    assert (
        pairing.pairs["2025-10-20-000043-etl_adlernest-round-2.txt"]
        == "2025-10-19-235307-etl_adlernest-round-1.txt"
    )
    by_name = {r.filename: r for r in refs}
    for r2, r1 in pairing.pairs.items():
        assert by_name[r2].time_limit_raw == by_name[r1].next_time_limit_raw
        assert parse_filename(r1).played_at < parse_filename(r2).played_at
    assert len(set(pairing.pairs.values())) == len(pairing.pairs)  # one R1 per R2
    everything = (
        set(pairing.pairs) | set(pairing.pairs.values()) | pairing.orphan_round2 | pairing.lone_round1
    )
    assert everything == set(by_name)
