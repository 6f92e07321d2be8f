"""`statsbot parse`: the JSON contract of STATS_FORMAT.md, the table, exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.samples import replicate, write_files
from bot.cli import main
from bot.stats.model import EXTRA_FIELDS_BY_COUNT, WEAPON_SLOTS

ERDENBERG_R1 = "2025-10-02-232339-erdenberg_t2-round-1.txt"
ERDENBERG_R2 = "2025-10-02-232818-erdenberg_t2-round-2.txt"
ENDSTATS = "2026-01-12-224606-te_escape2-round-2-endstats.txt"
PLAYER_HEAD = ["guid", "name", "team", "kills", "deaths", "shots", "hits", "headshot_hits"]
WEAPON_KEYS = ["hits", "shots", "kills", "deaths", "headshots"]


def _json_lines(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, list[dict[str, object]]]:
    code = main(argv)
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines()]


def test_json_over_all_samples(samples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, objects = _json_lines(capsys, ["parse", "--json", str(samples_dir)])
    assert code == 0
    files = [str(o["file"]) for o in objects]
    assert len(files) == 61  # the endstats companion is validated but not listed
    assert ENDSTATS not in files
    assert files == sorted(files)  # chronological: the name starts with the timestamp
    for obj in objects:
        assert list(obj) == ["file", "map", "round", "paired_with", "extras_fields", "players"]
        count = obj["extras_fields"]
        assert isinstance(obj["players"], list)
        for player in obj["players"]:
            assert isinstance(count, int)
            assert list(player) == [*PLAYER_HEAD, *EXTRA_FIELDS_BY_COUNT[count], "weapons"]
            weapons = player["weapons"]
            assert set(weapons) <= set(WEAPON_SLOTS)
            assert all(list(w) == WEAPON_KEYS for w in weapons.values())
            assert player["kills"] == sum(w["kills"] for w in weapons.values())
    by_file = {o["file"]: o for o in objects}
    assert by_file[ERDENBERG_R1]["paired_with"] == ERDENBERG_R2
    assert by_file[ERDENBERG_R2]["paired_with"] == ERDENBERG_R1
    assert by_file["2025-10-26-200001-etl_sp_delivery-round-2.txt"]["paired_with"] is None
    assert by_file["2025-10-17-202140-supply-round-1.txt"]["paired_with"] is None
    assert by_file["2024-09-12-174949-supply-round-2.txt"]["players"] == []
    assert by_file["2024-09-12-174949-supply-round-2.txt"]["extras_fields"] is None


def test_json_paired_round2_has_round2_only_values(
    samples_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, objects = _json_lines(
        capsys, ["parse", "--json", str(samples_dir / ERDENBERG_R2), str(samples_dir / ERDENBERG_R1)]
    )
    assert code == 0
    assert [o["file"] for o in objects] == [ERDENBERG_R1, ERDENBERG_R2]
    players = objects[1]["players"]
    assert isinstance(players, list)
    (vid,) = [p for p in players if p["guid"] == "D8423F90"]
    assert (vid["name"], vid["team"]) == ("^pvid", 2)
    assert (vid["kills"], vid["deaths"], vid["damage_given"], vid["headshot_hits"]) == (5, 6, 1135, 4)
    assert vid["time_played_min"] == 4.0
    assert objects[1]["extras_fields"] == 37


def test_orphan_round2_json_is_raw(samples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, objects = _json_lines(capsys, ["parse", "--json", str(samples_dir / ERDENBERG_R2)])
    assert code == 0
    (obj,) = objects
    assert obj["paired_with"] is None
    players = obj["players"]
    assert isinstance(players, list)
    (vid,) = [p for p in players if p["guid"] == "D8423F90"]
    assert (vid["kills"], vid["damage_given"]) == (16, 3561)  # R1 11 + R2 5; 2426 + 1135


def test_failing_file_is_an_error_object_and_exit_2(
    samples_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(samples_dir / ERDENBERG_R1, tmp_path / ERDENBERG_R1)
    bad = tmp_path / "2025-10-02-233000-erdenberg_t2-round-2.txt"
    bad.write_bytes(b"^1srv\\erdenberg_t2\\legacy3\\2\\1\\2\\7:27\n")
    code, objects = _json_lines(capsys, ["parse", "--json", str(tmp_path)])
    assert code == 2
    assert [o["file"] for o in objects] == [ERDENBERG_R1, bad.name]
    assert list(objects[1]) == ["file", "error"]
    assert "line 1" in str(objects[1]["error"])
    assert "header" in str(objects[1]["error"])
    assert objects[0]["paired_with"] is None


def test_bad_name_given_explicitly_is_an_error_object(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    odd = tmp_path / "notes.txt"
    odd.write_text("hello\n")
    code, objects = _json_lines(capsys, ["parse", "--json", str(odd)])
    assert code == 2
    assert objects == [{"file": "notes.txt", "error": objects[0]["error"]}]
    assert "filename" in str(objects[0]["error"])


def test_bad_endstats_companion_is_a_note_in_json_and_an_error_in_the_table(
    samples_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Companions are not listed in the JSON contract; endstats are written in chunks (§13)."""
    shutil.copy(samples_dir / ERDENBERG_R1, tmp_path / ERDENBERG_R1)
    (tmp_path / ENDSTATS).write_bytes(b"Most damage given\tvid\n")
    code, objects = _json_lines(capsys, ["parse", "--json", str(tmp_path)])
    assert code == 0
    assert [o["file"] for o in objects] == [ERDENBERG_R1]
    assert main(["parse", str(tmp_path)]) == 2  # the readable mode validates companions too
    assert ENDSTATS in capsys.readouterr().err


def test_nonexistent_path_is_an_error_object_and_the_others_still_print(
    samples_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, objects = _json_lines(
        capsys, ["parse", "--json", str(samples_dir / ERDENBERG_R1), str(tmp_path / "missing")]
    )
    assert code == 2
    assert objects[0]["file"] == ERDENBERG_R1
    assert "players" in objects[0]
    assert "no such file or directory" in str(objects[1]["error"])
    assert main(["parse", str(tmp_path / "missing")]) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_no_path_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse"]) == 2
    assert "PATH" in capsys.readouterr().err


def test_table_output(samples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["parse", str(samples_dir / ERDENBERG_R1), str(samples_dir / ERDENBERG_R2)])
    out = capsys.readouterr().out
    assert code == 0
    assert f"== {ERDENBERG_R2}" in out
    assert f"round 1: {ERDENBERG_R1} (values are round-2-only)" in out
    assert "match: r2 attackers (Allies)" in out
    r2_block = out.split(f"== {ERDENBERG_R2}")[1]
    rows = [
        line.split()
        for line in r2_block.splitlines()
        if line.startswith("   ") and line.split()[0] in {"SuperBoyy", "vid"}
    ]
    assert rows[0][:4] == ["SuperBoyy", "1", "10", "3"]  # sorted by kills, round-2-only
    assert rows[1][:4] == ["vid", "2", "5", "6"]


def test_folder_skips_foreign_names(samples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["parse", "--json", str(samples_dir)]) == 0
    assert "skipped" in capsys.readouterr().err  # SOURCES.md


def test_a_reader_that_goes_away_stops_the_command_quietly(tmp_path: Path) -> None:
    """`statsbot parse DIR | head -1`: no traceback when the pipe closes early."""
    folder = tmp_path / "stats"
    write_files(folder, replicate(600))  # ~400 KB of tables: far more than a pipe buffer holds
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "parse", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    assert proc.stdout.readline().startswith(b"== ")
    proc.stdout.close()  # the reader leaves after one line
    stderr = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=30) == 1
    assert b"Traceback" not in stderr
