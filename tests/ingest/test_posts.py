"""Outbox payload builders: JSON values only, deterministic, round-2-only numbers for a paired round 2."""

from __future__ import annotations

import json
from pathlib import Path

from bot.db.outbox import encode_payload
from bot.ingest import match_posts, posts
from bot.stats.differential import match_totals, round2_only
from bot.stats.model import ParsedRound
from bot.stats.outcome import match_outcome
from bot.stats.parser import parse_round

R1 = "2025-10-02-232339-erdenberg_t2-round-1.txt"
R2 = "2025-10-02-232818-erdenberg_t2-round-2.txt"


def _pair(samples_dir: Path) -> tuple[ParsedRound, ParsedRound]:
    r1 = parse_round(R1, (samples_dir / R1).read_bytes())
    r2 = parse_round(R2, (samples_dir / R2).read_bytes())
    return r1, r2


def test_round_payload_is_plain_json_sorted_by_kills(samples_dir: Path) -> None:
    r1, _ = _pair(samples_dir)
    payload = posts.round_payload("main", r1, status="r1", duration_s=447, paired_with=None)
    assert json.loads(json.dumps(payload)) == payload  # values only, nothing that JSON would change
    assert (payload["map"], payload["round_number"], payload["played_at"]) == (
        "erdenberg_t2",
        1,
        "2025-10-02T23:23:39",
    )
    kills = [p["kills"] for p in payload["players"]]
    assert kills == sorted(kills, reverse=True)
    vid = next(p for p in payload["players"] if p["clean_name"] == "vid")
    assert (vid["kills"], vid["deaths"], vid["damage_given"], vid["headshot_kills"]) == (11, 6, 2426, 1)
    assert vid["kd"] == round(11 / 6, 2)
    assert vid["time_played_s"] == 450
    assert vid["dpm"] == round(2426 * 60 / 450, 2)


def test_paired_round2_payload_has_round2_only_values(samples_dir: Path) -> None:
    r1, r2 = _pair(samples_dir)
    payload = posts.round_payload(
        "main", round2_only(r1, r2), status="paired", duration_s=240, paired_with=R1, flags=["x"]
    )
    got = {p["clean_name"]: (p["kills"], p["deaths"], p["damage_given"]) for p in payload["players"]}
    assert got["vid"] == (5, 6, 1135)
    assert got["SuperBoyy"] == (10, 3, 1339)
    assert payload["paired_with"] == R1
    assert "x" in payload["flags"]


def test_payloads_are_byte_identical_when_rebuilt(samples_dir: Path) -> None:
    r1, r2 = _pair(samples_dir)
    outcome = match_outcome(r1.header, r2.header)

    def build() -> str:
        return encode_payload(match_posts.match_payload("main", r1, r2, outcome, totals=match_totals(r1, r2)))

    first = build()
    assert first == build()
    payload = json.loads(first)
    assert payload["outcome"] == "r2_attackers"
    # Read from the files: qmr, SuperBoyy and Smetarski are the Allies of round 1 (they attack first,
    # set 7:27); olz, vid and endekk attack in round 2 and finish in 4:00: the second team wins.
    rosters = [{p["clean_name"] for p in t["players"]} for t in payload["teams"]]
    assert rosters == [{"qmr", "SuperBoyy", "SmetarskiProner"}, {".olz", "vid", "endekk"}]
    assert [t["side_r1"] for t in payload["teams"]] == [2, 1]
    assert payload["winner"] == 1
    assert (payload["r1_time_s"], payload["r2_time_s"], payload["r1_held"], payload["r2_held"]) == (
        447, 240, False, False,
    )  # fmt: skip
    assert len(payload["top_players"]) == 3
    points = [p["points"] for p in payload["top_players"]]
    assert points == sorted(points, reverse=True)
    superboyy = next(p for t in payload["teams"] for p in t["players"] if p["clean_name"] == "SuperBoyy")
    assert (superboyy["kills"], superboyy["deaths"]) == (22, 14)  # 12/11 in R1 + 10/3 in R2
