"""Outbox payloads: JSON-ready values of each post kind, fixed at enqueue time (pure, nothing rendered)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Literal, TypedDict

from bot.stats import derived
from bot.stats.model import ParsedRound, PlayerStats

# The kinds the chat side renders; also the `outbox.kind` column values.
KIND_ROUND = "round"
KIND_MATCH = "match"
KIND_SESSION = "session"
KIND_ALERT = "alert"
KIND_ALERT_RESOLVED = "alert_resolved"

# Match and session posts list the best players only: an embed has room for a handful.
TOP_PLAYERS = 8


class PlayerLine(TypedDict):
    """One player of a round post (round-2-only values for a paired round 2)."""

    name: str
    clean_name: str
    guid: str
    team: int
    kills: int
    deaths: int
    kd: float
    damage_given: int | None
    damage_received: int | None
    dpm: float | None
    accuracy: float | None  # percent, hits / shots
    headshot_hits: int
    headshot_kills: int | None
    revives_given: int | None
    xp: int | None
    time_played_s: int | None
    flags: list[str]


class RoundPayload(TypedDict):
    """kind "round": one round summary."""

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


class MatchPlayer(TypedDict):
    """One player of a match or session post: totals over the rounds it covers (§9.3)."""

    name: str
    clean_name: str
    guid: str
    kills: int
    deaths: int
    kd: float
    damage_given: int | None
    headshot_kills: int | None
    revives_given: int | None
    xp: int | None


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
    top_players: list[MatchPlayer]


class MatchResult(TypedDict):
    """One match inside a session post."""

    map: str
    outcome: str
    winner_team: int | None
    r1_time_s: int | None
    r2_time_s: int | None


class SessionPayload(TypedDict):
    """kind "session": a gaming session that went idle."""

    server: str
    session_id: int
    started_at: str  # ISO 8601, server-local
    ended_at: str
    rounds: int
    maps: list[str]  # in play order, one entry per map played (replays repeat)
    matches: list[MatchResult]
    score: dict[str, int]  # outcome → number of matches
    best_players: list[MatchPlayer]


class AlertPayload(TypedDict):
    """kind "alert" (opened) or "alert_resolved"."""

    key: str
    severity: str
    message: str


def _round2(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def kd_value(kills: int, deaths: int) -> float:
    """Kills per death as posted (two decimals), for totals that are no PlayerStats."""
    return round(derived.kill_death(kills, deaths), 2)


def _int_extra(p: PlayerStats, name: str) -> int | None:
    value = p.extras.get(name)
    return None if value is None else int(value)


def _time_played_s(p: PlayerStats) -> int | None:
    minutes = p.extras.get("time_played_min")
    return None if minutes is None else round(float(minutes) * 60)


def _by_kills(players: Iterable[PlayerStats]) -> list[PlayerStats]:
    # Deterministic order so that a retried or rebuilt post is byte-identical.
    return sorted(players, key=lambda p: (-p.kills, p.deaths, p.clean_name, p.key))


def player_line(p: PlayerStats, round_seconds: int | None) -> PlayerLine:
    """A round post's player entry. DPM uses the player's own time on a team, else the round length."""
    damage = _int_extra(p, "damage_given")
    seconds = _time_played_s(p) or round_seconds
    return PlayerLine(
        name=p.name,
        clean_name=p.clean_name,
        guid=p.guid,
        team=p.team,
        kills=p.kills,
        deaths=p.deaths,
        kd=round(derived.kd(p), 2),
        damage_given=damage,
        damage_received=_int_extra(p, "damage_received"),
        dpm=None if damage is None else _round2(derived.dpm(p, seconds)),
        accuracy=_round2(derived.accuracy(p)),
        headshot_hits=p.headshot_hits,
        headshot_kills=_int_extra(p, "headshot_kills"),
        revives_given=_int_extra(p, "revives_given"),
        xp=_int_extra(p, "xp"),
        time_played_s=_time_played_s(p),
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
    )


def match_player(p: PlayerStats) -> MatchPlayer:
    """A match/session entry from a totals PlayerStats (differential.match_totals)."""
    return MatchPlayer(
        name=p.name,
        clean_name=p.clean_name,
        guid=p.guid,
        kills=p.kills,
        deaths=p.deaths,
        kd=round(derived.kd(p), 2),
        damage_given=_int_extra(p, "damage_given"),
        headshot_kills=_int_extra(p, "headshot_kills"),
        revives_given=_int_extra(p, "revives_given"),
        xp=_int_extra(p, "xp"),
    )


def match_payload(
    server: str,
    *,
    map_name: str,
    r1_file: str,
    r2_file: str,
    outcome: Literal["r1_attackers", "r2_attackers", "draw"],
    winner_team: int | None,
    r1_time_s: int | None,
    r2_time_s: int | None,
    totals: Sequence[PlayerStats],
    top: int = TOP_PLAYERS,
) -> MatchPayload:
    """A match post; `totals` are the §9.3 R1+R2 totals per player."""
    return MatchPayload(
        server=server,
        map=map_name,
        r1_file=r1_file,
        r2_file=r2_file,
        outcome=outcome,
        winner_team=winner_team,
        r1_time_s=r1_time_s,
        r2_time_s=r2_time_s,
        top_players=[match_player(p) for p in _by_kills(totals)[:top]],
    )


def session_payload(
    server: str,
    *,
    session_id: int,
    started_at: dt.datetime,
    ended_at: dt.datetime,
    rounds: int,
    maps: Sequence[str],
    matches: Sequence[MatchResult],
    best_players: Sequence[MatchPlayer],
    top: int = TOP_PLAYERS,
) -> SessionPayload:
    """A session summary; `best_players` are totals over the session's rounds, any order."""
    score: dict[str, int] = {}
    for m in matches:
        score[m["outcome"]] = score.get(m["outcome"], 0) + 1
    ranked = sorted(best_players, key=lambda p: (-p["kills"], p["deaths"], p["clean_name"], p["guid"]))
    return SessionPayload(
        server=server,
        session_id=session_id,
        started_at=started_at.isoformat(),
        ended_at=ended_at.isoformat(),
        rounds=rounds,
        maps=list(maps),
        matches=list(matches),
        score=dict(sorted(score.items())),
        best_players=ranked[:top],
    )


def alert_payload(key: str, severity: str, message: str) -> AlertPayload:
    """An admin alert (kind "alert" when opened, "alert_resolved" when resolved)."""
    return AlertPayload(key=key, severity=severity, message=message)
