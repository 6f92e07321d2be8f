"""Round-2-only values and match totals from a paired R1/R2 (STATS_FORMAT.md §9.2, §9.3)."""

from __future__ import annotations

import operator
from collections.abc import Mapping

from bot.stats import anomalies
from bot.stats.model import (
    CUMULATIVE_EXTRAS,
    FLOAT_EXTRAS,
    WEAPON_SLOTS,
    ParsedRound,
    PlayerStats,
    WeaponStats,
    make_weapon,
)

Extras = Mapping[str, int | float]

_SLOT_INDEX = {slot: bit for bit, slot in enumerate(WEAPON_SLOTS)}

# Knife shots can shrink between R1 and R2 (a stab on a corpse is taken back, §8.2), and bullets_fired
# is Σ shots (or garbage before v38): neither may signal a counter reset.
_RESET_EXTRAS: tuple[str, ...] = tuple(sorted(CUMULATIVE_EXTRAS - {"bullets_fired"}))
_CUM_INT: tuple[str, ...] = tuple(sorted(CUMULATIVE_EXTRAS - FLOAT_EXTRAS))
_CUM_FLOAT: tuple[str, ...] = tuple(sorted(CUMULATIVE_EXTRAS & FLOAT_EXTRAS))
# Every generation has all cumulative fields (they sit in the first 28, §8.1), and a parsed line's
# extras hold every field of its generation: so these getters never miss.
_reset_values = operator.itemgetter(*_RESET_EXTRAS)
# Integer cumulative fields that the reset check proves non-decreasing: their differences need no clamp.
_MONOTONE_INT: tuple[str, ...] = tuple(key for key in _CUM_INT if key in _RESET_EXTRAS)
_monotone_int_values = operator.itemgetter(*_MONOTONE_INT)
_JOINED = frozenset({anomalies.JOINED_IN_R2})
_RESET = frozenset({anomalies.COUNTER_RESET})
_ROUND2_ONLY = frozenset({anomalies.ROUND2_ONLY})
_DEAD_ABOVE = frozenset({anomalies.DEAD_TIME_ABOVE_PLAYED})
_RATIO_ABOVE = frozenset({anomalies.RATIO_ABOVE_100})
_B7 = _DEAD_ABOVE | _RATIO_ABOVE


def _minutes(value: float) -> float:
    """Minutes at the file's 0.1 resolution, so 2.3 - 1.9 is 0.4 and not 0.39999999999999997."""
    return round(value, 1)


def _kd(kills: int, deaths: int) -> float:
    # The mod's convention for the kd field (kills + 1 without deaths), kept so the column means one thing.
    return round(anomalies.expected_kd(kills, deaths), 1)


def _meatshield(damage_received: int | float, deaths: int) -> float:
    if damage_received <= 1000 or deaths == 0:
        return 0.0
    value = damage_received / deaths / 130
    return round(value, 1) if value > 3 else 0.0


def _is_counter_reset(p1: PlayerStats, p2: PlayerStats) -> bool:
    """§9.2 step 5: any cumulative value lower in R2 than in R1 ⇒ the engine counters restarted."""
    return (
        p2.kills < p1.kills
        or p2.deaths < p1.deaths
        or any(map(operator.lt, _reset_values(p2.extras), _reset_values(p1.extras)))
    )


Sums = tuple[int, int, int, int, int]


def _sums(weapons: tuple[WeaponStats, ...]) -> Sums:
    """Σ kills, deaths, shots, hits, headshots over the weapon block (§7.2)."""
    kills = deaths = shots = hits = heads = 0
    for _, h, s, k, d, hs in weapons:
        kills += k
        deaths += d
        shots += s
        hits += h
        heads += hs
    return kills, deaths, shots, hits, heads


def _weapons_diff(p1: PlayerStats, p2: PlayerStats) -> tuple[tuple[WeaponStats, ...], Sums]:
    """Per slot R2 - R1 clamped at 0, and the sums over the result (§7.2); a slot missing in R1 counts
    as zero, one missing in R2 is gone."""
    before = {w[0]: w for w in p1.weapons}
    out: list[WeaponStats] = []
    matched = 0
    clamped = False
    for w in p2.weapons:
        b = before.get(w[0])
        if b is None:
            out.append(w)
            continue
        matched += 1
        # Unpacked rather than read by attribute: this loop runs ~7 times per player of every R2.
        slot, h, s, k, d, hs = w
        _, h1, s1, k1, d1, hs1 = b
        h, s, k, d, hs = h - h1, s - s1, k - k1, d - d1, hs - hs1
        if h < 0 or s < 0 or k < 0 or d < 0 or hs < 0:  # rare (knife shots): clamp only then
            h, s, k, d, hs = max(0, h), max(0, s), max(0, k), max(0, d), max(0, hs)
            clamped = True
        out.append(make_weapon((slot, h, s, k, d, hs)))
    weapons = tuple(out)
    if clamped or matched != len(before):
        return weapons, _sums(weapons)
    # Nothing clamped and no R1 slot gone: the sums of the differences are the differences of the sums.
    sums = (
        p2.kills - p1.kills,
        p2.deaths - p1.deaths,
        p2.shots - p1.shots,
        p2.hits - p1.hits,
        p2.headshot_hits - p1.headshot_hits,
    )
    return weapons, sums


def _with_weapons(
    p: PlayerStats, weapons: tuple[WeaponStats, ...], sums: Sums, extras: Extras, flags: frozenset[str]
) -> PlayerStats:
    """`p` with other weapons (and their `sums`), extras and flags; built directly, `replace` is slow."""
    kills, deaths, shots, hits, heads = sums
    return PlayerStats(
        p.guid,
        p.name,
        p.clean_name,
        p.rounds,
        p.team,
        kills,
        deaths,
        shots,
        hits,
        heads,
        weapons,
        extras,
        p.line,
        flags,
    )


def _flagged(p: PlayerStats, flags: frozenset[str]) -> PlayerStats:
    """`p` as it is with more flags (its sums came from its own weapon block)."""
    return _with_weapons(
        p, p.weapons, (p.kills, p.deaths, p.shots, p.hits, p.headshot_hits), p.extras, p.flags | flags
    )


def _raw_line(p: PlayerStats, flags: frozenset[str], full_bullets: bool) -> PlayerStats:
    """A line kept raw in a round-2-only result (joined in R2, counter reset), flagged why.

    B2: before v38 `bullets_fired` is a running total; every line of the result uses Σ shots, like the
    differenced ones, so the field means one thing within a round.
    """
    if full_bullets or "bullets_fired" not in p.extras:
        return _flagged(p, flags)
    extras = {**p.extras, "bullets_fired": p.shots}
    return _with_weapons(
        p, p.weapons, (p.kills, p.deaths, p.shots, p.hits, p.headshot_hits), extras, p.flags | flags
    )


def _recompute_ratios(
    extras: dict[str, int | float], kills: int, deaths: int, alive_min: float, team_min: float
) -> None:
    """§9.2 step 6: ratios from the (differenced or summed) inputs; `dpm` stays as written (B3)."""
    if "time_played_pct" in extras:
        pct = 100.0 * alive_min / team_min if team_min > 0 else 0.0
        extras["time_played_pct"] = round(min(100.0, max(0.0, pct)), 1)
    if "tank_meatshield" in extras:
        extras["tank_meatshield"] = _meatshield(extras["damage_received"], deaths)
    if "time_dead_ratio" in extras:
        dead = extras.get("time_dead_min", 0.0)
        extras["time_dead_ratio"] = round(100.0 * dead / team_min, 1) if team_min > 0 else 0.0
    if "kd_ratio" in extras:
        extras["kd_ratio"] = _kd(kills, deaths)


def _player_r2_only(p1: PlayerStats, p2: PlayerStats, full_bullets: bool) -> PlayerStats:
    """One player's round-2-only line; the caller has ruled out a counter reset."""
    weapons, sums = _weapons_diff(p1, p2)
    e1, e2 = p1.extras, p2.extras
    extras: dict[str, int | float] = dict(e2)
    # No reset, so these never decrease (bullets_fired may: B2, clamped below).
    deltas = map(operator.sub, _monotone_int_values(e2), _monotone_int_values(e1))
    extras.update(zip(_MONOTONE_INT, deltas, strict=True))
    bullets = e2.get("bullets_fired")
    if bullets is not None:
        extras["bullets_fired"] = max(0, bullets - e1.get("bullets_fired", 0))
    for key in _CUM_FLOAT:
        value = e2.get(key)
        if value is not None:
            extras[key] = max(0.0, _minutes(value - e1.get(key, 0.0)))
    kills, deaths, shots, _hits, _heads = sums
    if bullets is not None and not full_bullets:
        extras["bullets_fired"] = shots  # B2: before v38 the field is a running total; use Σ shots
    min1, min2 = e1.get("time_played_min", 0.0), e2.get("time_played_min", 0.0)
    alive = (e2.get("time_played_pct", 0.0) * min2 - e1.get("time_played_pct", 0.0) * min1) / 100.0
    _recompute_ratios(extras, kills, deaths, alive, _minutes(min2 - min1))
    return _with_weapons(p2, weapons, sums, extras, _b7_flags(p2.flags, extras))


def _b7_flags(flags: frozenset[str], extras: Mapping[str, int | float]) -> frozenset[str]:
    """B7 flags judged on the round-2-only values: the raw line's were judged on cumulative minutes.

    Dead time stays as written (flags, not silent fixes); later stages can exclude flagged lines.
    """
    dead_above = extras.get("time_dead_min", 0.0) > extras.get("time_played_min", 0.0)
    ratio_above = extras.get("time_dead_ratio", 0.0) > 100.0 or extras.get("time_played_pct", 0.0) > 100.0
    if not (dead_above or ratio_above or flags & _B7):
        return flags  # nearly every line: no new set
    flags -= _B7
    if dead_above:
        flags |= _DEAD_ABOVE
    if ratio_above:
        flags |= _RATIO_ABOVE
    return flags


def round2_only(r1: ParsedRound, r2: ParsedRound) -> ParsedRound:
    """The R2 file with round-2-only values (§9.2); players matched by `PlayerStats.key`."""
    before = {p.key: p for p in r1.players}
    full_bullets = r1.extras_fields == 38 and r2.extras_fields == 38
    players: list[PlayerStats] = []
    for p2 in r2.players:
        p1 = before.get(p2.key)
        if p1 is None:
            players.append(_raw_line(p2, _JOINED, full_bullets))
        elif _is_counter_reset(p1, p2):
            players.append(_raw_line(p2, _RESET, full_bullets))
        else:
            players.append(_player_r2_only(p1, p2, full_bullets))
    return ParsedRound(r2.name, r2.header, tuple(players), r2.extras_fields, r2.flags | _ROUND2_ONLY)


def _weapons_sum(w1: tuple[WeaponStats, ...], w2: tuple[WeaponStats, ...]) -> tuple[WeaponStats, ...]:
    total = {w.weapon: w for w in w1}
    for w in w2:
        b = total.get(w.weapon)
        total[w.weapon] = (
            w
            if b is None
            else WeaponStats(
                w.weapon,
                w.hits + b.hits,
                w.shots + b.shots,
                w.kills + b.kills,
                w.deaths + b.deaths,
                w.headshots + b.headshots,
            )
        )
    return tuple(sorted(total.values(), key=lambda w: _SLOT_INDEX[w.weapon]))


def _player_total(p1: PlayerStats, p2: PlayerStats, reset: bool) -> PlayerStats:
    """One player's match total: cum fields from the R2 line (R1 + R2 after a reset), round fields summed."""
    e1, e2 = p1.extras, p2.extras
    extras: dict[str, int | float] = {}
    for key, value in e2.items():
        if key in CUMULATIVE_EXTRAS and not reset:
            extras[key] = value
        else:
            summed = value + e1.get(key, 0)
            extras[key] = _minutes(summed) if isinstance(summed, float) else summed
    weapons = _weapons_sum(p1.weapons, p2.weapons) if reset else p2.weapons
    sums = _sums(weapons)
    kills, deaths, _shots, _hits, _heads = sums
    min1, min2 = e1.get("time_played_min", 0.0), e2.get("time_played_min", 0.0)
    if reset:
        team_min = min1 + min2
        alive = (e1.get("time_played_pct", 0.0) * min1 + e2.get("time_played_pct", 0.0) * min2) / 100.0
    else:
        team_min = min2
        alive = e2.get("time_played_pct", 0.0) * min2 / 100.0
    _recompute_ratios(extras, kills, deaths, alive, _minutes(team_min))
    return _with_weapons(p2, weapons, sums, extras, p2.flags)


def match_totals(r1: ParsedRound, r2: ParsedRound) -> tuple[PlayerStats, ...]:
    """R1 + R2 per player (§9.3): R2 players in R2 order, then R1-only players (who left) as in R1."""
    before = {p.key: p for p in r1.players}
    out: list[PlayerStats] = []
    for p2 in r2.players:
        p1 = before.pop(p2.key, None)
        if p1 is None:
            out.append(p2)  # joined for R2: his line is all he played
        else:
            out.append(_player_total(p1, p2, _is_counter_reset(p1, p2)))
    out.extend(before.values())
    return tuple(out)
