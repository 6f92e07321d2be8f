"""Session MVP and awards from stored per-player totals (pure; formulas documented in README)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.stats.derived import accuracy_pct, per_minute

MIN_SHOTS_FOR_ACCURACY = 100
MVP_MIN_SHARE = 0.5  # of the most time anyone played: a 2-minute substitute is no MVP
OBJECTIVE_WEIGHT = 3.0


@dataclass(frozen=True, slots=True)
class PlayerTotals:
    """A player's totals over a session's counted rounds (round 1s and round-2-only values)."""

    key: str
    name: str
    team: int | None
    rounds: int
    kills: int
    deaths: int
    gibs: int
    damage_given: int
    team_damage_given: int
    shots: int
    hits: int
    headshot_hits: int
    revives_given: int
    times_revived: int
    objectives: int  # dynamites planted + defused + objectives stolen + returned
    repairs: int
    best_spree: int
    multikills: int  # triple kills or better
    seconds: float

    @property
    def dpm(self) -> float | None:
        return per_minute(self.damage_given, self.seconds)

    @property
    def accuracy(self) -> float | None:
        return accuracy_pct(self.hits, self.shots)

    @property
    def kd(self) -> float:
        return self.kills / self.deaths if self.deaths else float(self.kills)


def points(
    *,
    damage: float,
    kills: int,
    gibs: float,
    revives: float,
    objectives: float,
    deaths: int,
    team_damage: float,
) -> float:
    """The MVP formula: what a player did for his team, per the README's "MVP" section.

    damage/100 + kills + gibs/2 + revives given + 3 x objectives - deaths/2 - 2 x team damage/100.
    """
    return (
        damage / 100 + kills + gibs / 2 + revives + OBJECTIVE_WEIGHT * objectives - deaths / 2
        - 2 * team_damage / 100
    )  # fmt: skip


def mvp_points(p: PlayerTotals) -> float:
    """`points` of a player's totals."""
    return points(
        damage=p.damage_given, kills=p.kills, gibs=p.gibs, revives=p.revives_given, objectives=p.objectives,
        deaths=p.deaths, team_damage=p.team_damage_given,
    )  # fmt: skip


def mvp(players: Sequence[PlayerTotals]) -> PlayerTotals | None:
    """Most MVP points among players who played at least half as long as the longest-playing one."""
    if not players:
        return None
    longest = max(p.seconds for p in players)
    eligible = [p for p in players if p.seconds >= MVP_MIN_SHARE * longest] or list(players)
    return max(eligible, key=lambda p: (round(mvp_points(p), 6), p.dpm or 0.0, p.name.lower(), p.key))


@dataclass(frozen=True, slots=True)
class Award:
    title: str
    key: str
    name: str
    value: str  # as shown: "14 gibs", "61.2% (212 shots)"


@dataclass(frozen=True, slots=True)
class _Rule:
    title: str
    value: Callable[[PlayerTotals], float | None]
    shown: Callable[[PlayerTotals], str]
    lowest: bool = False


def _accuracy(p: PlayerTotals) -> float | None:
    return p.accuracy if p.shots >= MIN_SHOTS_FOR_ACCURACY else None


RULES: tuple[_Rule, ...] = (
    _Rule("Objective hero", lambda p: p.objectives + p.repairs or None,
          lambda p: ", ".join(x for x in (_plural(p.objectives, "objective") if p.objectives else "",
                                            _plural(p.repairs, "repair") if p.repairs else "") if x)),
    _Rule("Butcher", lambda p: p.gibs or None, lambda p: _plural(p.gibs, "gib")),
    _Rule("Medic", lambda p: p.revives_given or None, lambda p: _plural(p.revives_given, "revive")),
    _Rule("Sharpshooter", _accuracy, lambda p: f"{p.accuracy or 0:.1f}% of {p.shots} shots"),
    _Rule("Rampage", lambda p: p.best_spree or None, lambda p: f"{p.best_spree}-kill spree"),
    _Rule("Multikiller", lambda p: p.multikills or None,
          lambda p: f"{_plural(p.multikills, 'multikill')} of 3+"),
    _Rule("Headhunter", lambda p: p.headshot_hits or None, lambda p: _plural(p.headshot_hits, "headshot")),
    _Rule("Friendly fire", lambda p: p.team_damage_given or None,
          lambda p: f"{p.team_damage_given} team damage"),
)  # fmt: skip
MAX_AWARDS = 6


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def awards(players: Sequence[PlayerTotals], *, limit: int = MAX_AWARDS) -> list[Award]:
    """Up to `limit` awards, each to the player with the highest value (ties: more kills, then name).

    A rule nobody scored in (no gibs at all, nobody with enough shots) gives no award.
    """
    out: list[Award] = []
    for rule in RULES:
        scored = [(v, p) for p in players if (v := rule.value(p)) is not None and v > 0]
        if not scored:
            continue
        _, best = max(scored, key=lambda vp: (vp[0], vp[1].kills, vp[1].name.lower(), vp[1].key))
        out.append(Award(rule.title, best.key, best.name, rule.shown(best)))
        if len(out) == limit:
            break
    return out
