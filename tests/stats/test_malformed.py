"""Malformed input: every defect raises ParseError naming the 1-based line and the field."""

from __future__ import annotations

import pytest

from bot.errors import IncompleteFileError, ParseError
from bot.stats import anomalies
from bot.stats.parser import parse_round
from tests.stats.builders import R1_NAME, extras_values, header, player_line, stats_file

GOOD = player_line()


def _error(data: bytes, name: str = R1_NAME) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse_round(name, data)
    assert info.value.file == name
    return info.value


def test_well_formed_synthetic_file_parses() -> None:
    parsed = parse_round(R1_NAME, stats_file(header(), [GOOD, player_line("ABCDEF02", team=2)]))
    assert len(parsed.players) == 2
    assert parsed.players[0].weapons[0].weapon == "mp40"
    assert parsed.players[0].clean_name == "player"


@pytest.mark.parametrize(
    ("head", "field", "reason_part"),
    [
        ("^1srv\\supply\\legacy3\\1\\1\\2\\10:00", "header", "got 7"),
        (header() + "\\1\\2", "header", "got 10"),
        (header(map_name="te_escape2"), "header.map", "te_escape2"),
        (header(round_number=2), "header.round", "name says 1"),
        (header().replace("\\1\\1\\2\\", "\\3\\1\\2\\"), "header.round", "not 1 or 2"),
        (header(defender=5), "header.defender", "'5'"),
        (header(winner=-1), "header.winner", "'-1'"),
        (header(limit="10:0"), "header.time_limit", "'10:0'"),
        (header(limit="ten"), "header.time_limit", "'ten'"),
        (header(next_limit="2:60"), "header.next_time_limit", "'2:60'"),
        (header(duration="fast"), "header.duration", "'fast'"),
        ("this is not a stats file at all", "header", "got 1"),
    ],
)
def test_bad_header(head: str, field: str, reason_part: str) -> None:
    err = _error(stats_file(head, [GOOD]))
    assert (err.line, err.field) == (1, field)
    assert reason_part in err.reason


@pytest.mark.parametrize(
    ("line", "field", "reason_part"),
    [
        ("ABCDEF01\\name\\0\\1", "player", "got 4"),
        (GOOD.replace("\\^1player\\", "\\a\\b\\"), "player", "got 6"),
        (GOOD.replace("ABCDEF01", "ABCDEF0"), "player.guid", "'ABCDEF0'"),
        (GOOD.replace("ABCDEF01", "XYZDEF01"), "player.guid", "hex"),
        (GOOD.replace("\\0\\1\\", "\\x\\1\\"), "player.rounds", "'x'"),
        (GOOD.replace("\\0\\1\\", "\\0\\4\\"), "player.team", "'4'"),
        (
            GOOD.replace("16 5 10 2 1 1 ", "16 5 10 2 1 "),
            "player.weapons",
            "needs 5 integers after it, got 4",
        ),
        (GOOD.replace("16 5 10 2 1 1 ", "16 5 10 2 1 1 7 "), "player.weapons", "got 6"),
        (GOOD.replace("16 5 10 2 1 1 ", "48 5 10 2 1 1 "), "player.weapons", "needs 10"),
        (GOOD.replace("16 5 10 2 1 1 ", "268435456 "), "player.weapons", "above the 28 slots"),
        (GOOD.replace("16 5 10 2 1 1 ", "16 5 10 2 1 x "), "player.weapons", "integers"),
        (GOOD.replace("16 5 10 2 1 1 ", "16 5 10 2 1 -1 "), "player.weapons", "integers"),
        (GOOD.replace("16 5 10 2 1 1 ", "16 1 10 2 1 3 "), "player.weapons", "headshots exceed"),
        (GOOD.split("\t")[0], "player.extras", "no TAB"),
        ("\t".join(GOOD.split("\t")[:-1]), "player.extras", "37 fields"),  # 38 → 37 is a valid count...
    ],
)
def test_bad_player_line(line: str, field: str, reason_part: str) -> None:
    if reason_part == "37 fields":
        # ...so a 37-field line after a 38-field line is the mixed-count error instead.
        err = _error(stats_file(header(), [GOOD, line]))
        assert (err.line, err.field) == (3, "player.extras")
        assert "37 fields but line 2 has 38" in err.reason
        return
    err = _error(stats_file(header(), [line]))
    assert (err.line, err.field) == (2, field)
    assert reason_part in err.reason


@pytest.mark.parametrize("count", [1, 32, 34, 35, 39, 40])
def test_wrong_extras_count(count: int) -> None:
    extras = (extras_values(38) * 2)[:count]
    err = _error(stats_file(header(), [player_line(extras=extras)]))
    assert (err.line, err.field) == (2, "player.extras")
    assert f"{count} fields" in err.reason


@pytest.mark.parametrize(
    ("index", "value", "reason_part"),
    [
        (0, "1.5", "damage_given '1.5' is not an integer"),
        (9, "abc", "xp 'abc' is not an integer"),
        (22, "nan", "time_played_min 'nan' is not a number"),
        (22, "inf", "time_played_min 'inf' is not a number"),
        (22, "", "is not a number"),
        (37, "1e5", "revives_given '1e5' is not an integer"),
        (5, "٣", "self_kills '٣' is not an integer"),
        (3, " 7", "is not an integer"),
        (4, "1_0", "is not an integer"),
    ],
)
def test_bad_extras_value_names_the_index(index: int, value: str, reason_part: str) -> None:
    extras = extras_values(38)
    extras[index] = value
    err = _error(stats_file(header(), [GOOD, player_line(extras=extras)]))
    assert (err.line, err.field) == (3, f"player.extras[{index}]")
    assert reason_part in err.reason


def test_mixed_generations_in_one_file() -> None:
    err = _error(stats_file(header(), [player_line(extras=extras_values(33)), GOOD]))
    assert (err.line, err.field) == (3, "player.extras")
    assert "38 fields but line 2 has 33" in err.reason


def test_line_numbers_count_blank_lines() -> None:
    data = stats_file(header(), ["", GOOD, "   ", "ABCDEF02\\x\\0\\1"])
    err = _error(data)
    assert (err.line, err.field) == (5, "player")


def test_blank_lines_and_crlf_are_tolerated() -> None:
    data = stats_file(header(), ["", GOOD, "  ", player_line("ABCDEF02")]).replace(b"\n", b"\r\n")
    parsed = parse_round(R1_NAME, data)
    assert [p.line for p in parsed.players] == [3, 5]
    assert parsed.flags == frozenset()


def test_missing_final_newline_with_good_last_line_is_flagged() -> None:
    parsed = parse_round(R1_NAME, stats_file(header(), [GOOD], final_newline=False))
    assert anomalies.NO_FINAL_NEWLINE in parsed.flags
    header_only = parse_round(R1_NAME, stats_file(header(), [], final_newline=False))
    assert {anomalies.NO_FINAL_NEWLINE, anomalies.HEADER_ONLY} <= header_only.flags


def test_truncated_last_line_is_incomplete() -> None:
    data = stats_file(header(), [GOOD, GOOD[:60]], final_newline=False)
    with pytest.raises(IncompleteFileError) as info:
        parse_round(R1_NAME, data)
    assert (info.value.line, info.value.field) == (3, "player.extras")
    assert "possibly still being written" in info.value.reason


def test_truncated_line_inside_a_complete_file_is_a_plain_parse_error() -> None:
    err = _error(stats_file(header(), [GOOD[:60], GOOD]))
    assert not isinstance(err, IncompleteFileError)
    assert (err.line, err.field) == (2, "player.extras")


def test_truncated_header_is_incomplete() -> None:
    with pytest.raises(IncompleteFileError) as info:
        parse_round(R1_NAME, header().encode()[:20])
    assert (info.value.line, info.value.field) == (1, "header")


def test_empty_file_is_incomplete_and_blank_file_is_bad() -> None:
    with pytest.raises(IncompleteFileError) as info:
        parse_round(R1_NAME, b"")
    assert (info.value.line, info.value.field) == (1, "header")
    err = _error(b"\n\n")
    assert not isinstance(err, IncompleteFileError)
    assert (err.line, err.field, err.reason) == (1, "header", "no header line")


def test_bad_file_name_and_companion_name() -> None:
    err = _error(stats_file(header(), [GOOD]), name="supply-round-1.txt")
    assert (err.line, err.field) == (0, "filename")
    endstats = "2025-10-02-213333-supply-round-1-endstats.txt"
    err = _error(stats_file(header(), [GOOD]), name=endstats)
    assert (err.line, err.field) == (0, "filename")
    assert "companion" in err.reason


def test_names_utf8_and_latin1_fallback_per_field() -> None:
    utf8 = player_line("ABCDEF01", "^1Jörg").encode("utf-8")
    latin = player_line("ABCDEF02", "^2Jörg").encode("latin-1")
    data = (header() + "\n").encode() + utf8 + b"\n" + latin + b"\n"
    parsed = parse_round(R1_NAME, data)
    assert [p.name for p in parsed.players] == ["^1Jörg", "^2Jörg"]
    assert [p.clean_name for p in parsed.players] == ["Jörg", "Jörg"]


def test_server_name_latin1_fallback() -> None:
    data = header().replace("^1srv", "^1caf\xe9").encode("latin-1") + b"\n"
    assert parse_round(R1_NAME, data).header.server_name == "^1café"


def test_non_utf8_bytes_in_a_number_field_are_a_parse_error() -> None:
    data = (header() + "\n").encode() + GOOD.replace("\\0\\1\\", "\\0\\1\xff\\").encode("latin-1") + b"\n"
    err = _error(data)
    assert (err.line, err.field) == (2, "player.team")


@pytest.mark.parametrize(
    "data",
    [
        # slomix's invented fixture: tab-separated with weapon names (2025-12-17-120000-goldrush-round-1.txt)
        b"Server\\goldrush\\legacy3\\1\\1\\2\\10:00\\8:00\\480000\n"
        b"ABCDEF01\tPlayer\t0\t1\tWS_MP40\t5\t10\t2\t1\t1\n",
        # free text (2025-12-17-130000-badmap-round-1.txt)
        b"This is not a valid stats file\nJust some random text\n",
    ],
)
def test_synthetic_non_format_files_are_rejected(data: bytes) -> None:
    name = "2025-12-17-120000-goldrush-round-1.txt"
    with pytest.raises(ParseError) as info:
        parse_round(name, data)
    assert info.value.line in (1, 2)


def test_upstream_space_separated_variant_is_rejected_with_line_and_field() -> None:
    # slomix test_files/2025-09-29-120000-etl_adlernest-round-1.txt: space-separated extras, `20.00` times.
    head = "Server\\etl_adlernest\\legacy3\\1\\1\\2\\20.00\\12.50"
    line = "A1B2C3D4\\TestPlayer\\0\\1\\16 5 10 2 1 1 1200 800 0 0 2 0 0 0 95.5 40"
    name = "2025-09-29-120000-etl_adlernest-round-1.txt"
    with pytest.raises(ParseError) as info:
        parse_round(name, stats_file(head, [line]))
    assert (info.value.line, info.value.field) == (2, "player.extras")


def test_nine_field_header_and_time_variants() -> None:
    parsed = parse_round(
        R1_NAME, stats_file(header(limit="12:00", next_limit="11:57", duration="716261"), [GOOD])
    )
    h = parsed.header
    assert (h.field_count, h.duration_ms, h.time_limit_s, h.next_time_limit_s) == (9, 716261, 720, 717)
    decimal = parse_round(R1_NAME, stats_file(header(limit="20.00", next_limit="12.50"), [GOOD])).header
    assert (decimal.time_limit_s, decimal.next_time_limit_s) == (1200, 750)
    plain = parse_round(R1_NAME, stats_file(header(limit="15", next_limit="15"), [GOOD])).header
    assert (plain.time_limit_s, plain.next_time_limit_s) == (900, 900)


@pytest.mark.parametrize(("value", "ms"), [("716261", 716261), ("600", 600_000), ("599.5", 599_500)])
def test_duration_field_units(value: str, ms: int) -> None:
    h = parse_round(R1_NAME, stats_file(header(duration=value), [GOOD])).header
    assert h.duration_ms == ms


@pytest.mark.parametrize("value", ["0", "-5"])
def test_duration_not_positive_is_shutdown_path(value: str) -> None:
    parsed = parse_round(R1_NAME, stats_file(header(duration=value), [GOOD]))
    assert parsed.header.duration_ms is None
    assert anomalies.SHUTDOWN_PATH in parsed.flags


def test_huge_numbers_are_parse_errors() -> None:
    huge_weapon = GOOD.replace("16 5 10 2 1 1 ", "16 5 10 2 1 " + "9" * 5000 + " ")
    err = _error(stats_file(header(), [huge_weapon]))
    assert (err.line, err.field) == (2, "player.weapons")
    extras = extras_values(38)
    extras[22] = "9" * 400  # float() would say inf
    err = _error(stats_file(header(), [player_line(extras=extras)]))
    assert (err.line, err.field) == (2, "player.extras[22]")
    extras = extras_values(38)
    extras[0] = "1" * 5000  # int() would raise a ValueError about the digit limit
    err = _error(stats_file(header(), [player_line(extras=extras)]))
    assert (err.line, err.field) == (2, "player.extras[0]")


def test_a_huge_number_in_a_normal_length_line_is_refused_not_passed_to_sqlite() -> None:
    """20-digit values fit a short line; they would overflow SQLite's 64-bit INTEGER at import."""
    weapons = player_line(weapons={"mp40": (10**19, 10, 2, 1, 1)})
    with pytest.raises(ParseError) as err:
        parse_round(R1_NAME, stats_file(header(), [weapons]))
    assert (err.value.line, err.value.field) == (2, "player.weapons")
    damage = player_line(extras=extras_values(38, {"damage_given": 10**19}))
    with pytest.raises(ParseError) as err:
        parse_round(R1_NAME, stats_file(header(), [damage]))
    assert (err.value.line, err.value.field) == (2, "player.extras[0]")
