"""Numbers derived from parsed rounds (STATS_FORMAT.md §5.1, §7.2, §11): duration, accuracy, DPM, K/D."""

from __future__ import annotations

import statistics

from bot.stats.anomalies import ROUND2_ONLY
from bot.stats.model import ParsedRound, PlayerStats
from bot.stats.outcome import round_result

# TAB 22 has 0.1-minute resolution: within this many seconds of the limit a held round ran out.
_RESOLUTION_S = 6


def _team_minutes(parsed: ParsedRound) -> dict[str, float]:
    """time_played_min of every player on Axis or Allies, by player key."""
    return {p.key: float(p.extras.get("time_played_min", 0.0)) for p in parsed.players if p.team in (1, 2)}


def _snap_to_limit(seconds: int, limit: int | None) -> int:
    if limit is None:
        return seconds
    return limit if seconds >= limit - _RESOLUTION_S else min(seconds, limit)


def duration_s(parsed: ParsedRound, r1: ParsedRound | None = None) -> int | None:
    """Best estimate of how long the round really ran, in seconds, or None when unknown.

    Field 8 when present; a completed round's field 7 (the elapsed time); for a held round the
    per-player TAB 22 (largest value in an R1, the median R2 - R1 difference in a paired R2), because
    "held" also covers rounds ended early by surrender (§5.1 caveat). An unpaired held R2 falls back to
    its limit, an upper bound. `parsed` may be the raw R2 or its round2_only result.
    """
    header = parsed.header
    if header.duration_ms is not None:
        return round(header.duration_ms / 1000)
    limit = header.time_limit_s
    if round_result(header) == "completed" and header.next_time_limit_s is not None:
        return header.next_time_limit_s
    now = _team_minutes(parsed)
    if header.round_number == 1:
        if not now:
            return limit
        return _snap_to_limit(round(max(now.values()) * 60), limit)
    if ROUND2_ONLY in parsed.flags:  # already differenced by bot.stats.differential
        diffs = list(now.values())
    elif r1 is None:
        return limit
    else:
        before = _team_minutes(r1)
        diffs = [now[k] - before[k] for k in now.keys() & before.keys() if now[k] >= before[k]]
    if not diffs:
        return limit
    return _snap_to_limit(round(statistics.median(diffs) * 60), limit)


def accuracy_pct(hits: int, shots: int) -> float | None:
    """Hits per shot in percent (0-100 for bullets; explosives can exceed it, §7.2); None without shots."""
    return 100.0 * hits / shots if shots else None


def per_minute(amount: int | float, seconds: int | float | None) -> float | None:
    """`amount` per minute over `seconds`; None without a positive duration."""
    if not seconds or seconds <= 0:
        return None
    return float(amount) * 60.0 / seconds


def kill_death(kills: int, deaths: int) -> float:
    """Kills per death; the kills themselves when there were no deaths."""
    return kills / deaths if deaths else float(kills)


def accuracy(p: PlayerStats) -> float | None:
    """A player's accuracy_pct from the weapon sums."""
    return accuracy_pct(p.hits, p.shots)


def dpm(p: PlayerStats, seconds: int | float | None) -> float | None:
    """Damage given per minute over `seconds` (the mod's own dpm field is always 0.0, B3)."""
    return per_minute(p.extras.get("damage_given", 0), seconds)


def kd(p: PlayerStats) -> float:
    """A player's kill_death from the weapon sums."""
    return kill_death(p.kills, p.deaths)
