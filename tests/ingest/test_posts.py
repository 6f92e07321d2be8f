"""Outbox payload builders: JSON values only, deterministic, round-2-only numbers for a paired round 2."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from bot.db.outbox import encode_payload
from bot.ingest import posts
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
        return encode_payload(
            posts.match_payload(
                "main", map_name="erdenberg_t2", r1_file=R1, r2_file=R2, outcome=outcome.outcome,
                winner_team=outcome.winner_team, r1_time_s=outcome.r1_time_s, r2_time_s=outcome.r2_time_s,
                totals=match_totals(r1, r2),
            )
        )  # fmt: skip

    first = build()
    assert first == build()
    payload = json.loads(first)
    assert payload["outcome"] == "r2_attackers"
    assert len(payload["top_players"]) == 6
    superboyy = next(p for p in payload["top_players"] if p["clean_name"] == "SuperBoyy")
    assert (superboyy["kills"], superboyy["deaths"]) == (22, 14)  # 12/11 in R1 + 10/3 in R2


def test_session_payload_scores_and_ranks() -> None:
    best = [
        posts.MatchPlayer(name="a", clean_name="a", guid="A", kills=3, deaths=1, kd=3.0, damage_given=1,
                          headshot_kills=0, revives_given=0, xp=1),
        posts.MatchPlayer(name="b", clean_name="b", guid="B", kills=9, deaths=2, kd=4.5, damage_given=1,
                          headshot_kills=0, revives_given=0, xp=1),
    ]  # fmt: skip
    matches = [
        posts.MatchResult(map="m", outcome="draw", winner_team=None, r1_time_s=1, r2_time_s=1),
        posts.MatchResult(map="n", outcome="r2_attackers", winner_team=1, r1_time_s=1, r2_time_s=1),
        posts.MatchResult(map="m", outcome="draw", winner_team=None, r1_time_s=1, r2_time_s=1),
    ]
    payload = posts.session_payload(
        "main", session_id=4, started_at=dt.datetime(2025, 1, 1, 20, 0),
        ended_at=dt.datetime(2025, 1, 1, 23, 0), rounds=6, maps=["m", "n", "m"], matches=matches,
        best_players=best,
    )  # fmt: skip
    assert payload["score"] == {"draw": 2, "r2_attackers": 1}
    assert [p["guid"] for p in payload["best_players"]] == ["B", "A"]
    assert payload["started_at"] == "2025-01-01T20:00:00"
