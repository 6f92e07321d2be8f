"""Stopwatch teams of a gaming session (pure): two rosters, one result per map, the session score.

In stopwatch the two teams swap sides between round 1 and round 2 and keep playing together map after
map. A map's players therefore fall into two *groups*, keyed by their round-1 side: the players on side
`s` in round 1 plus the players on the other side in round 2. Each group is then given to the session
team whose members it shares most (weighted by time played), map after map; a player ends on the team
he played most time for. Bots and spectators are left out; a substitute simply joins the group he
played in; a round 2 without its round 1 (orphan) still tells its two groups.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.stats.clan import clan_tag, team_label
from bot.stats.model import BOT_GUID

AXIS, ALLIES, SPECTATOR = 1, 2, 3
UNRELIABLE_FLAGS = frozenset({"shutdown_path"})  # written at a restart: the header says nothing reliable

MapResultKind = Literal["win", "draw", "no_result"]


@dataclass(frozen=True, slots=True)
class Seat:
    """One player's line in one round, as far as teams are concerned."""

    key: str  # player_key: GUID, or 'OMNIBOT0:<name>' for bots
    name: str  # clean name
    side: int  # 1 Axis, 2 Allies, 3 spectator
    seconds: float  # time on a team in this round (round-2-only for a paired round 2)


@dataclass(frozen=True, slots=True)
class RoundInfo:
    """A stored round: header facts plus its seats."""

    round_id: int
    map: str
    round_number: int
    status: str  # rounds.status: r1 | paired | orphan | pending_r1
    defender: int
    winner: int
    time_limit_s: int | None
    next_time_limit_s: int | None
    seats: tuple[Seat, ...]
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class MapPlay:
    """One map of the session: a stopwatch pair, a lone round 1, or a round 2 without its round 1.

    For a pair, `outcome`/times are the stored match result (bot.stats.outcome).
    """

    map: str
    r1: RoundInfo | None
    r2: RoundInfo | None
    outcome: str | None = None  # 'r1_attackers' | 'r2_attackers' | 'draw' for a pair
    r1_time_s: int | None = None
    r2_time_s: int | None = None

    @property
    def defender(self) -> int:
        first = self.r1 or self.r2
        return first.defender if first is not None and first.defender in (AXIS, ALLIES) else AXIS


@dataclass(frozen=True, slots=True)
class Member:
    """A roster entry: a player and how much he played for this team."""

    key: str
    name: str
    rounds: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Roster:
    """One of the session's two teams (numbered 1 and 2)."""

    team: int
    name: str
    members: tuple[Member, ...]

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(m.key for m in self.members)


@dataclass(frozen=True, slots=True)
class MapResult:
    """A map's result in team terms. `attacked_first`/`winner` are team numbers (1/2) or None."""

    map: str
    r1_round_id: int | None
    r2_round_id: int | None
    result: MapResultKind
    attacked_first: int | None
    winner: int | None
    r1_time_s: int | None  # the time the first attackers set (the limit when they were held)
    r2_time_s: int | None
    fullhold_r1: bool
    fullhold_r2: bool
    note: str  # '' or why the map is not (fully) scored: 'no round 2', 'round 1 missing'
    lineups: dict[int, tuple[str, ...]] = field(default_factory=dict)  # team → player keys on this map


@dataclass(frozen=True, slots=True)
class SessionTeams:
    """Teams, per-map results and score of a session. `rosters` has 0, 1 or 2 entries."""

    rosters: tuple[Roster, ...]
    maps: tuple[MapResult, ...]
    score: dict[int, int]  # team → maps won
    draws: int

    def team_of(self, key: str) -> int | None:
        for r in self.rosters:
            if key in r.keys:
                return r.team
        return None

    def attackers(self, round_id: int) -> str | None:
        """The name of the team that attacked in this round (stopwatch: the other one in round 2)."""
        for m in self.maps:
            if m.attacked_first is None or round_id not in (m.r1_round_id, m.r2_round_id):
                continue
            team = m.attacked_first if round_id == m.r1_round_id else 3 - m.attacked_first
            return next((r.name for r in self.rosters if r.team == team), None)
        return None


def is_bot_key(key: str) -> bool:
    return key == BOT_GUID or key.startswith(f"{BOT_GUID}:")


def _groups(play: MapPlay) -> dict[int, dict[str, Seat]]:
    """Players of a map by round-1 side (1/2): R1 side s, plus R2 side 3-s. Bots and spectators out."""
    groups: dict[int, dict[str, Seat]] = {AXIS: {}, ALLIES: {}}
    for rnd, flip in ((play.r1, False), (play.r2, True)):
        if rnd is None:
            continue
        for seat in rnd.seats:
            if seat.side not in (AXIS, ALLIES) or is_bot_key(seat.key):
                continue
            group = (3 - seat.side) if flip else seat.side
            prev = groups[group].get(seat.key)
            seconds = seat.seconds + (prev.seconds if prev else 0.0)
            groups[group][seat.key] = Seat(seat.key, seat.name, group, seconds)
    return groups


def _weight(seat: Seat) -> float:
    return max(seat.seconds, 6.0)  # the files' resolution: a seat always counts a little


def _assign(
    plays: Sequence[dict[int, dict[str, Seat]]], prior: dict[str, dict[int, float]] | None
) -> list[dict[int, int]]:
    """Group (round-1 side) → team number, per map. With `prior` weights, each map follows them."""
    weights: dict[str, dict[int, float]] = defaultdict(lambda: {1: 0.0, 2: 0.0})
    out: list[dict[int, int]] = []
    for groups in plays:
        known = prior if prior is not None else weights

        def lean(seats: dict[str, Seat], known: dict[str, dict[int, float]] = known) -> float:
            return sum((known[k][1] - known[k][2]) if k in known else 0.0 for k in seats)

        score = lean(groups[AXIS]) - lean(groups[ALLIES])
        mapping = {AXIS: 1, ALLIES: 2} if score >= 0 else {AXIS: 2, ALLIES: 1}
        out.append(mapping)
        for side, seats in groups.items():
            for key, seat in seats.items():
                weights[key][mapping[side]] += _weight(seat)
    return out


def _totals(
    plays: Sequence[dict[int, dict[str, Seat]]], mappings: Sequence[dict[int, int]]
) -> dict[str, dict[int, float]]:
    weights: dict[str, dict[int, float]] = defaultdict(lambda: {1: 0.0, 2: 0.0})
    for groups, mapping in zip(plays, mappings, strict=True):
        for side, seats in groups.items():
            for key, seat in seats.items():
                weights[key][mapping[side]] += _weight(seat)
    return weights


def _map_result(
    play: MapPlay, mapping: dict[int, int], groups: dict[int, dict[str, Seat]], limits: frozenset[int]
) -> MapResult:
    attack_side = 3 - play.defender  # round-1 attackers' side in round 1
    team_first = mapping[attack_side]
    first = team_first if groups[attack_side] else None  # nobody attacked: a one-sided round
    lineups = {mapping[s]: tuple(sorted(groups[s])) for s in (AXIS, ALLIES)}
    if play.r1 is not None and play.r2 is not None:
        kind: MapResultKind = "draw" if play.outcome == "draw" else "win"
        winner = (
            None if kind == "draw" else (team_first if play.outcome == "r1_attackers" else 3 - team_first)
        )
        r1_held = _held(play.r1)
        return MapResult(
            play.map, play.r1.round_id, play.r2.round_id, kind, first, winner, play.r1_time_s,
            play.r2_time_s, r1_held, _held(play.r2), "", lineups,
        )  # fmt: skip
    if play.r1 is not None:
        held = _held(play.r1)
        time = play.r1.time_limit_s if held else play.r1.next_time_limit_s
        return MapResult(
            play.map, play.r1.round_id, None, "no_result", first, None, time, None, held, False,
            "no round 2", lineups,
        )  # fmt: skip
    assert play.r2 is not None
    return _orphan_result(play, play.r2, team_first, lineups, limits)


def _held(rnd: RoundInfo) -> bool:
    if rnd.winner in (AXIS, ALLIES):
        return rnd.winner == rnd.defender
    limit, elapsed = rnd.time_limit_s, rnd.next_time_limit_s
    return not (limit is not None and elapsed is not None and elapsed < limit)


def _orphan_result(
    play: MapPlay, r2: RoundInfo, first: int, lineups: dict[int, tuple[str, ...]], limits: frozenset[int]
) -> MapResult:
    """A round 2 alone still decides the map when its header can: see README "Session score".

    Its time limit is the time the first attackers set in the missing round 1. Completed: the second
    attackers beat it, whatever it was. Held: the first attackers win if round 1 ended on the objective,
    i.e. the limit is no configured round-1 limit (`limits`: those seen for the map) nor a whole minute.
    """
    limit = r2.time_limit_s
    held = _held(r2)
    winner: int | None = None
    if not (r2.flags & UNRELIABLE_FLAGS) and r2.seats:
        if not held:
            winner = 3 - first
        elif limit is not None and (limit % 60 != 0 or (limits and limit not in limits)):
            winner = first
    return MapResult(
        play.map, None, r2.round_id, "win" if winner else "no_result", first, winner, limit,
        limit if held else r2.next_time_limit_s, False, held, "round 1 missing", lineups,
    )  # fmt: skip


def detect(
    plays: Sequence[MapPlay], round1_limits: Mapping[str, frozenset[int]] | None = None
) -> SessionTeams:
    """The session's teams, map results and score; `plays` in play order.

    `round1_limits`: map → round-1 time limits seen on the server (decides a round 2 without round 1).
    """
    limits = round1_limits or {}
    grouped = [_groups(p) for p in plays]
    useful = [i for i, g in enumerate(grouped) if g[AXIS] or g[ALLIES]]
    mappings = _assign([grouped[i] for i in useful], None)
    for _ in range(3):  # settle early maps against what the whole evening says
        again = _assign([grouped[i] for i in useful], _totals([grouped[i] for i in useful], mappings))
        if again == mappings:
            break
        mappings = again
    mapping_of = dict(zip(useful, mappings, strict=True))
    weights = _totals([grouped[i] for i in useful], mappings)
    rosters = _rosters(grouped, mapping_of, weights)
    results = []
    for i, play in enumerate(plays):
        mapping = mapping_of.get(i)
        if mapping is None:
            continue  # no players on a team (a header-only file): nothing to say about teams
        results.append(_map_result(play, mapping, grouped[i], limits.get(play.map, frozenset())))
    score = {r.team: 0 for r in rosters}
    for res in results:
        if res.winner is not None and res.winner in score:
            score[res.winner] += 1
    draws = sum(1 for res in results if res.result == "draw")
    return SessionTeams(rosters, tuple(results), score, draws)


def _rosters(
    grouped: Sequence[dict[int, dict[str, Seat]]],
    mapping_of: dict[int, dict[int, int]],
    weights: dict[str, dict[int, float]],
) -> tuple[Roster, ...]:
    names: dict[str, str] = {}
    rounds: Counter[str] = Counter()
    last_team: dict[str, int] = {}
    for i in sorted(mapping_of):
        for side, seats in grouped[i].items():
            for key, seat in seats.items():
                names[key] = seat.name
                rounds[key] += 1
                last_team[key] = mapping_of[i][side]
    members: dict[int, list[Member]] = {1: [], 2: []}
    for key, w in weights.items():
        team = 1 if w[1] > w[2] else 2 if w[2] > w[1] else last_team[key]
        members[team].append(Member(key, names[key], rounds[key], round(w[team], 1)))
    for team in members:
        members[team].sort(key=lambda m: (-m.rounds, -m.seconds, m.name.lower(), m.key))
    present = [t for t in (1, 2) if members[t]]
    tags = {t: clan_tag([m.name for m in members[t]]) for t in present}
    if len(present) == 2 and tags[1] is not None and tags[1].lower() == (tags[2] or "").lower():
        tags = dict.fromkeys(present)  # the same tag on both sides names neither
    return tuple(Roster(t, tags[t] or team_label(members[t][0].name), tuple(members[t])) for t in present)
