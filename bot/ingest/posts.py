"""Outbox payloads: JSON-ready values of each post kind, fixed at enqueue time (pure, nothing rendered)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, TypedDict

from bot.stats import awards, derived
from bot.stats.model import ParsedRound, PlayerStats
from bot.stats.outcome import MatchOutcome, round_result
from bot.stats.teams import clan_tag, team_label

# The kinds the chat side renders; also the `outbox.kind` column values.
KIND_ROUND = "round"
KIND_MATCH = "match"
KIND_SESSION = "session"
KIND_ALERT = "alert"
KIND_ALERT_RESOLVED = "alert_resolved"

TOP_PERFORMERS = 3  # a match post names its best players by MVP points
OBJECTIVE_FIELDS = ("dynamites_planted", "dynamites_defused", "objectives_stolen", "objectives_returned")


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
        gibs=_int_extra(p, "gibs"),
        damage_given=damage,
        damage_received=_int_extra(p, "damage_received"),
        dpm=None if damage is None else _round2(derived.dpm(p, seconds)),
        accuracy=_round2(derived.accuracy(p)),
        headshot_hits=p.headshot_hits,
        headshot_kills=_int_extra(p, "headshot_kills"),
        revives_given=_int_extra(p, "revives_given"),
        xp=_int_extra(p, "xp"),
        time_played_s=_time_played_s(p),
        dynamites_planted=_int_extra(p, "dynamites_planted"),
        dynamites_defused=_int_extra(p, "dynamites_defused"),
        objectives_stolen=_int_extra(p, "objectives_stolen"),
        objectives_returned=_int_extra(p, "objectives_returned"),
        repairs=_int_extra(p, "repairs_constructions"),
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


def _objectives(p: PlayerStats) -> int:
    return sum(int(p.extras.get(k, 0)) for k in OBJECTIVE_FIELDS)


def match_player(p: PlayerStats) -> MatchPlayer:
    """A match entry from a totals PlayerStats (differential.match_totals)."""
    seconds = _time_played_s(p)
    damage = _int_extra(p, "damage_given")
    return MatchPlayer(
        name=p.name,
        clean_name=p.clean_name,
        guid=p.guid,
        kills=p.kills,
        deaths=p.deaths,
        kd=round(derived.kd(p), 2),
        gibs=_int_extra(p, "gibs"),
        damage_given=damage,
        dpm=None if damage is None else _round2(derived.dpm(p, seconds)),
        accuracy=_round2(derived.accuracy(p)),
        headshot_kills=_int_extra(p, "headshot_kills"),
        revives_given=_int_extra(p, "revives_given"),
        objectives=_objectives(p) if p.extras else None,
        xp=_int_extra(p, "xp"),
        points=round(awards.mvp_points(_as_totals(p)), 2),
    )


def _as_totals(p: PlayerStats) -> awards.PlayerTotals:
    e = p.extras
    return awards.PlayerTotals(
        p.key, p.clean_name, None, 2, p.kills, p.deaths, int(e.get("gibs", 0)), int(e.get("damage_given", 0)),
        int(e.get("team_damage_given", 0)), p.shots, p.hits, p.headshot_hits, int(e.get("revives_given", 0)),
        int(e.get("times_revived", 0)), _objectives(p), int(e.get("repairs_constructions", 0)),
        int(e.get("killing_spree", 0)), 0, float(e.get("time_played_min", 0.0)) * 60,
    )  # fmt: skip


def _match_teams(
    r1: ParsedRound, r2: ParsedRound, totals: Sequence[PlayerStats]
) -> dict[int, list[PlayerStats]]:
    """Match players by round-1 side: R1 side s, or the other side for a round-2 joiner; no spectators."""
    side = {p.key: p.team for p in r1.players if p.team in (1, 2)}
    for p in r2.players:
        if p.key not in side and p.team in (1, 2):
            side[p.key] = 3 - p.team
    groups: dict[int, list[PlayerStats]] = {1: [], 2: []}
    for p in totals:
        if p.key in side and not p.is_bot:
            groups[side[p.key]].append(p)
    return groups


def _team_names(groups: dict[int, list[PlayerStats]]) -> dict[int, str]:
    """The shared clan tag, else the player who played longest (as the session names its teams)."""
    tags = {s: clan_tag([p.clean_name for p in ps]) for s, ps in groups.items()}
    if tags[1] is not None and tags[2] is not None and tags[1].lower() == tags[2].lower():
        tags = {1: None, 2: None}
    names = {}
    for side, ps in groups.items():
        longest = sorted(
            ps, key=lambda p: (-float(p.extras.get("time_played_min", 0.0)), p.clean_name.lower())
        )
        names[side] = tags[side] or (team_label(longest[0].clean_name) if longest else "?")
    return names


def _best(players: Iterable[MatchPlayer]) -> list[MatchPlayer]:
    return sorted(players, key=lambda p: (-p["points"], -p["kills"], p["clean_name"], p["guid"]))


def match_payload(
    server: str,
    r1: ParsedRound,
    r2: ParsedRound,
    result: MatchOutcome,
    *,
    totals: Sequence[PlayerStats],
    top: int = TOP_PERFORMERS,
) -> MatchPayload:
    """A match post; `totals` are the §9.3 R1+R2 totals per player."""
    sides = _match_teams(r1, r2, totals)
    names = _team_names(sides)
    groups = {s: _best(match_player(p) for p in ps) for s, ps in sides.items()}
    first_side = 3 - (r1.header.defender if r1.header.defender in (1, 2) else 1)
    order = (first_side, 3 - first_side)
    teams = [MatchTeam(name=names[s], side_r1=s, players=groups[s]) for s in order]
    winner = {"r1_attackers": 0, "r2_attackers": 1}.get(result.outcome)
    return MatchPayload(
        server=server,
        map=r2.name.map,
        r1_file=r1.filename,
        r2_file=r2.filename,
        outcome=result.outcome,
        winner_team=result.winner_team,
        r1_time_s=result.r1_time_s,
        r2_time_s=result.r2_time_s,
        r1_held=round_result(r1.header) == "held",
        r2_held=round_result(r2.header) == "held",
        teams=teams,
        winner=winner,
        top_players=_best([*groups[1], *groups[2]])[:top],
        notes=[],
    )


def alert_payload(key: str, severity: str, message: str) -> AlertPayload:
    """An admin alert (kind "alert" when opened, "alert_resolved" when resolved)."""
    return AlertPayload(key=key, severity=severity, message=message)
