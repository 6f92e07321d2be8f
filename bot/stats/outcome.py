"""Stopwatch results (STATS_FORMAT.md §11): per round by the sides, per match from both headers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.stats.model import Header

RoundResult = Literal["completed", "held"]
Outcome = Literal["r1_attackers", "r2_attackers", "draw"]


def round_result(header: Header) -> RoundResult:
    """ "completed" when the attackers won (winner ≠ defender), else "held".

    Decided by the sides, never by closeness to the limit (§11). Without a winner (0) the header's
    times decide: a usable field 7 below field 6 means the clock was stopped by the attackers.
    """
    if header.winner in (1, 2):
        return "completed" if header.winner != header.defender else "held"
    limit, elapsed = header.time_limit_s, header.next_time_limit_s
    return "completed" if limit is not None and elapsed is not None and elapsed < limit else "held"


def stopwatch_time_s(header: Header) -> int | None:
    """The round's stopwatch time: the elapsed time when completed, the limit when held."""
    if round_result(header) == "completed":
        return header.next_time_limit_s
    return header.time_limit_s


@dataclass(frozen=True, slots=True)
class MatchOutcome:
    """Who won an R1+R2 stopwatch match; `winner_team` is the winning side in R2's sides (1/2)."""

    outcome: Outcome
    winner_team: int | None
    r1_time_s: int | None
    r2_time_s: int | None


def match_outcome(r1: Header, r2: Header) -> MatchOutcome:
    """R2 attackers win by completing R2 (they had to beat R1's time); else R1 attackers win if they
    completed R1; two holds are a draw: nobody beat the clock (§11)."""
    r1_time, r2_time = stopwatch_time_s(r1), stopwatch_time_s(r2)
    defender = r2.defender if r2.defender in (1, 2) else None
    if round_result(r2) == "completed":
        # The R2 attackers are the side that does not defend the map.
        return MatchOutcome("r2_attackers", 3 - defender if defender else None, r1_time, r2_time)
    if round_result(r1) == "completed":
        # The R1 attackers swapped sides: in R2 they defend.
        return MatchOutcome("r1_attackers", defender, r1_time, r2_time)
    return MatchOutcome("draw", None, r1_time, r2_time)
