"""Match post payloads (pure): both teams of a stopwatch pair, the result, the top performers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.ingest.posts import MatchPayload, MatchPlayer, MatchTeam, int_extra, round2, time_played_s
from bot.stats import awards, derived
from bot.stats.clan import clan_tag, team_label
from bot.stats.model import ParsedRound, PlayerStats
from bot.stats.outcome import MatchOutcome, round_result

TOP_PERFORMERS = 3  # a match post names its best players by MVP points
OBJECTIVE_FIELDS = ("dynamites_planted", "dynamites_defused", "objectives_stolen", "objectives_returned")


def _objectives(p: PlayerStats) -> int:
    return sum(int(p.extras.get(k, 0)) for k in OBJECTIVE_FIELDS)


def match_player(p: PlayerStats) -> MatchPlayer:
    """A match entry from a totals PlayerStats (differential.match_totals)."""
    seconds = time_played_s(p)
    damage = int_extra(p, "damage_given")
    e = p.extras
    objectives = _objectives(p)
    score = awards.points(
        damage=e.get("damage_given", 0), kills=p.kills, gibs=e.get("gibs", 0),
        revives=e.get("revives_given", 0), objectives=objectives, deaths=p.deaths,
        team_damage=e.get("team_damage_given", 0),
    )  # fmt: skip
    return MatchPlayer(
        name=p.name,
        clean_name=p.clean_name,
        guid=p.guid,
        kills=p.kills,
        deaths=p.deaths,
        kd=round(derived.kd(p), 2),
        gibs=int_extra(p, "gibs"),
        damage_given=damage,
        dpm=None if damage is None else round2(derived.dpm(p, seconds)),
        accuracy=round2(derived.accuracy(p)),
        headshot_kills=int_extra(p, "headshot_kills"),
        revives_given=int_extra(p, "revives_given"),
        objectives=objectives if e else None,
        xp=int_extra(p, "xp"),
        points=round(score, 2),
    )


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
