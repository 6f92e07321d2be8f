"""Team detection edge cases on constructed sessions (pure bot.stats.teams)."""

from __future__ import annotations

import itertools

from bot.stats.clan import clan_tag
from bot.stats.teams import MapPlay, RoundInfo, Seat, SessionTeams, detect

_ids = itertools.count(1)


def rnd(n: int, axis: str, allies: str, *, defender: int = 1, winner: int = 1, limit: int = 600,
        nxt: int = 600, spec: str = "", status: str = "", minutes: float = 5.0) -> RoundInfo:  # fmt: skip
    """A round with players named by letters: `axis="abc"` → players a, b, c on Axis."""
    seats = [Seat(k, k, 1, minutes * 60) for k in axis] + [Seat(k, k, 2, minutes * 60) for k in allies]
    seats += [Seat(k, k, 3, 0.0) for k in spec]
    return RoundInfo(next(_ids), "m", n, status or ("r1" if n == 1 else "paired"), defender, winner, limit,
                     nxt, tuple(seats))  # fmt: skip


def pair(r1_axis: str, r1_allies: str, r2_axis: str, r2_allies: str, outcome: str = "r1_attackers",
         **kw: object) -> MapPlay:  # fmt: skip
    return MapPlay("m", rnd(1, r1_axis, r1_allies), rnd(2, r2_axis, r2_allies, **kw), outcome, 300, 600)  # type: ignore[arg-type]


def rosters(got: SessionTeams) -> set[frozenset[str]]:
    return {r.keys for r in got.rosters}


def team(got: SessionTeams, key: str) -> frozenset[str]:
    return next(r.keys for r in got.rosters if key in r.keys)


def test_sides_swap_between_rounds_and_maps() -> None:
    got = detect([pair("abc", "xyz", "xyz", "abc"), pair("xyz", "abc", "abc", "xyz")])
    assert rosters(got) == {frozenset("abc"), frozenset("xyz")}
    # Round 1 attackers (Allies) win both maps: xyz on map 1, abc on map 2.
    assert [got.maps[0].winner, got.maps[1].winner] == [got.team_of("x"), got.team_of("a")]
    assert got.score == {got.team_of("a"): 1, got.team_of("x"): 1}


def test_substitute_joining_mid_session_joins_the_team_he_replaces() -> None:
    # c leaves after map 1; d takes his place on map 2 (even in the middle of it: R2 only).
    got = detect(
        [pair("abc", "xyz", "xyz", "abc"), pair("xyz", "abd", "abd", "xyz"), pair("abd", "xyz", "xyz", "ab")]
    )
    assert rosters(got) == {frozenset("abcd"), frozenset("xyz")}


def test_player_switching_team_ends_where_he_played_most() -> None:
    # c plays two maps with a/b, then one map with x/y (and z moves to a/b).
    got = detect(
        [pair("abc", "xyz", "xyz", "abc"), pair("xyz", "abc", "abc", "xyz"), pair("abz", "xyc", "xyc", "abz")]
    )
    assert team(got, "c") == team(got, "a")
    assert team(got, "z") == team(got, "x")
    # The map he switched on is scored with the line-ups that actually played it.
    last = got.maps[2]
    assert set(last.lineups[got.team_of("a") or 0]) == set("abz")


def test_player_who_stays_on_his_side_between_rounds_switched_team() -> None:
    # c is Axis in both rounds: in round 2 he played for the other team.
    got = detect(
        [pair("abc", "xyz", "xyzc", "ab"), pair("xyz", "abc", "abc", "xyz"), pair("abc", "xyz", "xyz", "abc")]
    )
    assert team(got, "c") == team(got, "a")


def test_uneven_teams() -> None:
    got = detect([pair("abcd", "xy", "xy", "abcd")])
    assert rosters(got) == {frozenset("abcd"), frozenset("xy")}


def test_bots_and_spectators_are_on_no_roster() -> None:
    bot = "OMNIBOT0:[BOT]Bob"
    r1 = rnd(1, "ab", "xy", spec="s")
    r1 = RoundInfo(r1.round_id, "m", 1, "r1", 1, 1, 600, 300, (*r1.seats, Seat(bot, "[BOT]Bob", 2, 300.0)))
    got = detect([MapPlay("m", r1, rnd(2, "xy", "ab", spec="s"), "r1_attackers", 300, 300)])
    assert rosters(got) == {frozenset("ab"), frozenset("xy")}


def test_spectator_at_round_end_keeps_his_round1_team() -> None:
    got = detect([pair("abc", "xyz", "xy", "abc", spec="z")])
    assert team(got, "z") == frozenset("xyz")


def test_orphan_round2_still_gives_two_rosters_and_a_result() -> None:
    # Allies (a, b: the round-1 defenders) complete round 2 against the time round 1 set.
    orphan = rnd(2, "xy", "ab", winner=2, limit=250, nxt=200, status="orphan")
    got = detect([MapPlay("m", None, orphan)])
    assert rosters(got) == {frozenset("ab"), frozenset("xy")}
    res = got.maps[0]
    assert (res.result, res.note) == ("win", "round 1 missing")
    assert res.winner == got.team_of("a")
    assert res.attacked_first == got.team_of("x")


def test_orphan_round2_held_against_a_configured_limit_is_no_result() -> None:
    orphan = rnd(2, "xy", "ab", winner=1, limit=600, nxt=600, status="orphan")
    assert detect([MapPlay("m", None, orphan)], {"m": frozenset({600})}).maps[0].result == "no_result"
    # Held against 3:33: round 1 was completed in 3:33, so its attackers (x, y) win.
    odd = rnd(2, "xy", "ab", winner=1, limit=213, nxt=213, status="orphan")
    got = detect([MapPlay("m", None, odd)], {"m": frozenset({600})})
    assert got.maps[0].winner == got.team_of("x")


def test_a_draw_counts_for_nobody() -> None:
    got = detect([pair("abc", "xyz", "xyz", "abc", outcome="draw")])
    assert (got.maps[0].result, got.maps[0].winner, got.draws) == ("draw", None, 1)
    assert set(got.score.values()) == {0}


def test_team_names_use_a_shared_clan_tag_else_the_best_known_player() -> None:
    r1 = RoundInfo(1, "m", 1, "r1", 1, 1, 600, 300, (
        Seat("1", ".oG.Gekku.", 1, 300), Seat("2", ".oG.rAzzie.", 1, 300), Seat("3", "Demon", 1, 300),
        Seat("4", "endekk", 2, 600), Seat("5", "vid", 2, 300), Seat("6", "olz", 2, 300),
    ))  # fmt: skip
    got = detect([MapPlay("m", r1, None)])
    assert sorted(r.name for r in got.rosters) == ["Team endekk", "oG"]


def test_clan_tags() -> None:
    assert clan_tag(["slomix.Imbecil", "slomix.carniee", "slomix.endekk"]) == "slomix"
    assert clan_tag(["fnx NO MERCY", "konni NO MERCY", "PLUG NO MERCY"]) == "NO MERCY"
    assert clan_tag(["ripaZha sNozji", "ripazha dAFF", "ripaZha tokYo"]) == "ripaZha"
    assert clan_tag(["MaccabrosSarGel", "MaccabrosNoa"]) == "Maccabros"
    assert clan_tag([".olz", ".wjs", ".lgz"]) is None
    assert clan_tag(["Smetarski", "Smith", "vid"]) is None
    assert clan_tag(["solo"]) is None


def test_attackers_name_the_team_that_attacked_each_round() -> None:
    first, second = pair("abc", "xyz", "xyz", "abc"), pair("xyz", "abc", "abc", "xyz")
    got = detect([first, second])
    name = {r.team: r.name for r in got.rosters}
    assert first.r1 is not None
    assert first.r2 is not None
    assert second.r1 is not None
    # Axis defends every round: Allies attack, i.e. xyz then abc on map 1, abc first on map 2.
    assert got.attackers(first.r1.round_id) == name[got.team_of("x") or 0]
    assert got.attackers(first.r2.round_id) == name[got.team_of("a") or 0]
    assert got.attackers(second.r1.round_id) == name[got.team_of("a") or 0]
    assert name[got.team_of("a") or 0] != name[got.team_of("x") or 0]
    assert got.attackers(10**9) is None  # not a round of the session
