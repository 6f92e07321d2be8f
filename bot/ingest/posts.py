"""Outbox payloads: JSON-ready values of each post kind, fixed at enqueue time (pure, nothing rendered)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, TypedDict

from bot.stats import derived
from bot.stats.model import ParsedRound, PlayerStats

# The kinds the chat side renders; also the `outbox.kind` column values.
KIND_ROUND = "round"
KIND_MATCH = "match"
KIND_SESSION = "session"
KIND_ALERT = "alert"
KIND_ALERT_RESOLVED = "alert_resolved"


class PlayerLine(TypedDict):
    """One player of a round post (round-2-only values for a paired round 2)."""

    name: str
    clean_name: str
    guid: str
    team: int  # 1 Axis, 2 Allies, 3 spectator (left out of the post's blocks)
    kills: int
    deaths: int
    kd: float
    gibs: int | None
    damage_given: int | None
    damage_received: int | None
    dpm: float | None
    accuracy: float | None  # percent, hits / shots
    headshot_hits: int
    headshot_kills: int | None
    revives_given: int | None
    xp: int | None
    time_played_s: int | None
    dynamites_planted: int | None
    dynamites_defused: int | None
    objectives_stolen: int | None
    objectives_returned: int | None
    repairs: int | None
    flags: list[str]


class RoundPayload(TypedDict):
    """kind "round": one round summary. `flags`/`filename` are for admins, never shown to players."""

    server: str
    filename: str
    map: str
    round_number: int
    status: str  # rounds.status: r1 | paired | orphan (pending_r1 rounds are not posted)
    played_at: str  # ISO 8601, the game server's local time from the file name (no zone)
    result: Literal["completed", "held"]
    defender: int
    winner: int
    time_limit_s: int | None
    duration_s: int | None
    paired_with: str | None
    flags: list[str]
    players: list[PlayerLine]
    notes: list[str]  # extra lines for players (e.g. "new record"), rendered under the outcome


class MatchPlayer(TypedDict):
    """One player of a match post: totals over R1+R2 (§9.3)."""

    name: str
    clean_name: str
    guid: str
    kills: int
    deaths: int
    kd: float
    gibs: int | None
    damage_given: int | None
    dpm: float | None
    accuracy: float | None
    headshot_kills: int | None
    revives_given: int | None
    objectives: int | None
    xp: int | None
    points: float  # bot.stats.awards.mvp_points of the match totals


class MatchTeam(TypedDict):
    """One side of a match: the players of round-1 side `side_r1` (and the other side in round 2)."""

    name: str
    side_r1: int  # 1 Axis, 2 Allies in round 1
    players: list[MatchPlayer]  # best first


class MatchPayload(TypedDict):
    """kind "match": a stopwatch R1+R2 pair and its outcome."""

    server: str
    map: str
    r1_file: str
    r2_file: str
    outcome: Literal["r1_attackers", "r2_attackers", "draw"]
    winner_team: int | None  # side (1 Axis, 2 Allies) in round 2's sides; None for a draw
    r1_time_s: int | None
    r2_time_s: int | None
    r1_held: bool  # the first attackers were held (r1_time_s is then the limit)
    r2_held: bool
    teams: list[MatchTeam]  # [attacked first, attacked second]
    winner: int | None  # index into `teams`; None for a draw
    top_players: list[MatchPlayer]  # best MVP points of the match, both teams
    notes: list[str]


class AlertPayload(TypedDict):
    """kind "alert" (opened) or "alert_resolved"."""

    key: str
    severity: str
    message: str


def round2(value: float | None) -> float | None:
    """A ratio as posted: two decimals (None stays None)."""
    return None if value is None else round(value, 2)


def kd_value(kills: int, deaths: int) -> float:
    """Kills per death as posted (two decimals), for totals that are no PlayerStats."""
    return round(derived.kill_death(kills, deaths), 2)


def int_extra(p: PlayerStats, name: str) -> int | None:
    """An extras field as an int; None when the file's generation does not have it."""
    value = p.extras.get(name)
    return None if value is None else int(value)


def time_played_s(p: PlayerStats) -> int | None:
    """Time on a team in whole seconds (the file has tenths of a minute)."""
    minutes = p.extras.get("time_played_min")
    return None if minutes is None else round(float(minutes) * 60)


def _by_kills(players: Iterable[PlayerStats]) -> list[PlayerStats]:
    # Deterministic order so that a retried or rebuilt post is byte-identical.
    return sorted(players, key=lambda p: (-p.kills, p.deaths, p.clean_name, p.key))


def player_line(p: PlayerStats, round_seconds: int | None) -> PlayerLine:
    """A round post's player entry. DPM uses the player's own time on a team, else the round length."""
    damage = int_extra(p, "damage_given")
    seconds = time_played_s(p) or round_seconds
    return PlayerLine(
        name=p.name,
        clean_name=p.clean_name,
        guid=p.guid,
        team=p.team,
        kills=p.kills,
        deaths=p.deaths,
        kd=round(derived.kd(p), 2),
        gibs=int_extra(p, "gibs"),
        damage_given=damage,
        damage_received=int_extra(p, "damage_received"),
        dpm=None if damage is None else round2(derived.dpm(p, seconds)),
        accuracy=round2(derived.accuracy(p)),
        headshot_hits=p.headshot_hits,
        headshot_kills=int_extra(p, "headshot_kills"),
        revives_given=int_extra(p, "revives_given"),
        xp=int_extra(p, "xp"),
        time_played_s=time_played_s(p),
        dynamites_planted=int_extra(p, "dynamites_planted"),
        dynamites_defused=int_extra(p, "dynamites_defused"),
        objectives_stolen=int_extra(p, "objectives_stolen"),
        objectives_returned=int_extra(p, "objectives_returned"),
        repairs=int_extra(p, "repairs_constructions"),
        flags=sorted(p.flags),
    )


def round_payload(
    server: str,
    parsed: ParsedRound,
    *,
    status: str,
    duration_s: int | None,
    paired_with: str | None,
    flags: Iterable[str] = (),
) -> RoundPayload:
    """A round post. For a paired round 2 pass the round-2-only ParsedRound (differential.round2_only)."""
    header = parsed.header
    return RoundPayload(
        server=server,
        filename=parsed.filename,
        map=parsed.name.map,
        round_number=parsed.name.round_number,
        status=status,
        played_at=parsed.name.played_at.isoformat(),
        result="held" if header.winner == header.defender else "completed",
        defender=header.defender,
        winner=header.winner,
        time_limit_s=header.time_limit_s,
        duration_s=duration_s,
        paired_with=paired_with,
        flags=sorted({*parsed.flags, *flags}),
        players=[player_line(p, duration_s) for p in _by_kills(parsed.players)],
        notes=[],
    )


def alert_payload(key: str, severity: str, message: str) -> AlertPayload:
    """An admin alert (kind "alert" when opened, "alert_resolved" when resolved)."""
    return AlertPayload(key=key, severity=severity, message=message)
