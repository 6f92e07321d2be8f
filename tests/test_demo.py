"""`statsbot demo`: zero config, the real daemon against the embedded SSH server, a final report, exit 0."""

from __future__ import annotations

import re

import pytest

from bot.cli import main
from bot.demo import bundled_files, release_plan
from bot.stats.names import parse_filename


def test_bundled_files_ship_inside_the_package() -> None:
    files = bundled_files()
    assert len(files) >= 24
    for name, data in files:
        parse_filename(name)
        assert data.endswith(b"\n")


def test_release_plan_has_the_awkward_cases() -> None:
    plan = release_plan(bundled_files())
    notes = [step.note for step in plan if step.note]
    assert notes == [
        "round 2 released before its round 1",
        "the late round 1",
        "first half of a file still being written",
        "the rest of it",
        "corrupt file",
    ]
    grown = [step for step in plan if step.note.startswith(("first half", "the rest"))]
    assert grown[0].name == grown[1].name
    assert grown[1].append


@pytest.mark.history_default  # the folder starts empty: every released file is new, so posted
def test_demo_runs_end_to_end_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--speed", "3"]) == 0
    out = capsys.readouterr().out
    files = len(bundled_files())
    assert f"files per state: imported {files}, quarantined 1" in out
    assert re.search(r"R1\+R2 pairs: (\d+)", out)
    assert "quarantined: 2025-12-31-235959-" in out
    assert "line 2, field player." in out  # the error names line and field
    assert out.count("── [admin]") == 1  # one alert for the corrupt file, not one per poll
    assert "of history" not in out  # nothing was there at the first listing: no history, no summary
    assert out.count("· round\n") == files  # every round posted exactly once (a late-paired R2 too)
    assert out.count("· match\n") == int(re.findall(r"R1\+R2 pairs: (\d+)", out)[0])
    assert out.count("· session\n") >= 10  # every session summarised once, with its score
    assert "Team endekk 3 – 0 Team olz" in out  # 2025-10-14: one team won all three maps
    assert "Axis · defending" in out
    assert "MVP: " in out
