"""MVP formula and awards (pure bot.stats.awards)."""

from __future__ import annotations

from dataclasses import replace

from bot.stats.awards import MIN_SHOTS_FOR_ACCURACY, PlayerTotals, awards, mvp, mvp_points

BASE = PlayerTotals(
    key="K", name="n", team=1, rounds=4, kills=10, deaths=10, gibs=0, damage_given=2000, team_damage_given=0,
    shots=300, hits=90, headshot_hits=0, revives_given=0, times_revived=0, objectives=0, repairs=0,
    best_spree=0, multikills=0, seconds=1800.0,
)  # fmt: skip


def p(key: str, **values: object) -> PlayerTotals:
    return replace(BASE, key=key, name=key, **values)  # type: ignore[arg-type]


def test_mvp_points_formula() -> None:
    x = p(
        "x",
        damage_given=1500,
        kills=20,
        gibs=4,
        revives_given=3,
        objectives=2,
        deaths=8,
        team_damage_given=100,
    )
    assert mvp_points(x) == 15 + 20 + 2 + 3 + 6 - 4 - 2


def test_mvp_needs_half_the_playing_time() -> None:
    sub = p("sub", kills=30, seconds=600.0)  # best numbers, but a third of the evening
    regular = p("regular", kills=12)
    assert mvp([sub, regular, p("other")]) == regular
    assert mvp([]) is None


def test_awards_skip_what_nobody_did_and_need_enough_shots() -> None:
    sharp = p("sharp", shots=MIN_SHOTS_FOR_ACCURACY - 1, hits=MIN_SHOTS_FOR_ACCURACY - 1)
    steady = p("steady", shots=400, hits=160)
    medic = p("medic", revives_given=12)
    got = {a.title: a for a in awards([sharp, steady, medic])}
    assert got["Sharpshooter"].key == "steady"  # 99 shots at 100% do not qualify
    assert got["Medic"].value == "12 revives"
    assert "Butcher" not in got  # no gibs at all: no award


def test_at_most_six_awards() -> None:
    everything = p("all", gibs=3, revives_given=2, objectives=1, repairs=2, best_spree=5, multikills=1,
                   headshot_hits=9, team_damage_given=40)  # fmt: skip
    got = awards([everything])
    assert len(got) == 6
    assert got[0].title == "Objective hero"
    assert got[0].value == "1 objective, 2 repairs"
