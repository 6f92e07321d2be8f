# ruff: noqa: E501  (one line per expected map reads best)
"""Teams and scores of the real sessions, as a human reads them from the 61 sample files.

Every expectation below was written by reading the files (header: defender, winner, limit, next limit;
each player line's GUID and TEAM column in round 1 and round 2), NOT by printing the code's answer.
Sessions are the import's (60-minute gap). Teams are sets of GUID8s; "first" is the team that attacked
first (round-1 attackers = the side that does not defend the map); times are seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.db import session_teams
from bot.db.connection import Database
from bot.stats.teams import SessionTeams
from tests.helpers.store import import_path, stats_files

# Players (GUID8) by the name they used most.
WJS, BOYY, AUSS, OLZ, CARN, VEKT = "FDA127DF", "EDBB5DA9", "8C49608C", "5D989160", "0A26D447", "9CC78CFE"
QMR, LGZ, BRONZE, ENDEKK, VID, IPKISS = "652EB4A6", "1C747DF1", "2B5938F5", "7B84BE88", "D8423F90", "A0B2063D"
SQUAZE, DEMON, GEKKU, IMB, ADDER, EDO = "3C0354D3", "1C8F69CA", "11EDBD24", "C74FB315", "228C15BC", "E88D495C"
RAZZ, BOLEK, FNX, KONRAD, CRU = "4D5B6107", "F7C5AF6E", "3063A713", "2EF36AE2", "DB00AA45"
SARGEL, NOA, INTER, LICIOUS, PLUG = "BF52721D", "310C8BEE", "74204B83", "EA326149", "A76191C1"
SNOZJI, ZUBL, DAFF, ANTII, TOKYO = "58B93231", "7869361E", "2237B50F", "430E79FE", "94F16E69"


@dataclass(frozen=True)
class Map:
    map: str
    first: frozenset[str]  # attacked first
    winner: frozenset[str] | None  # None: draw or no result
    result: str  # win | draw | no_result
    r1_time_s: int | None = None  # checked for complete pairs
    r2_time_s: int | None = None


def t(*keys: str) -> frozenset[str]:
    return frozenset(keys)


@dataclass(frozen=True)
class Expected:
    started_at: str
    teams: tuple[frozenset[str], ...]
    maps: tuple[Map, ...]
    score: dict[frozenset[str], int]
    names: dict[frozenset[str], str] | None = None
    draws: int = 0


X, Y = t(QMR, BOYY, LGZ), t(OLZ, VID, ENDEKK)  # 2025-10-02, both sessions
P, Q = t(OLZ, QMR, BOYY, BRONZE), t(LGZ, VID, SQUAZE, ENDEKK)  # 2025-10-14, both sessions
U, V = t(OLZ, QMR, BOYY), t(WJS, VID, ENDEKK)  # 2025-10-19, both sessions
OG = t(DEMON, GEKKU, RAZZ)
SLOMIX3, M = t(IMB, CARN, ENDEKK), t(GEKKU, RAZZ, DEMON)
SLOMIX5, RIPA = t(IMB, CARN, OLZ, BOYY, ENDEKK), t(SNOZJI, ZUBL, DAFF, ANTII, TOKYO)
NM, IMBT = t(FNX, KONRAD, PLUG), t(IMB, CARN, EDO)

EXPECTED = [
    # A lone round 1: two rosters, no result.
    Expected("2024-04-16 22:07:31", (t(WJS, BOYY, AUSS), t(OLZ, CARN, VEKT)),
             (Map("te_escape2", t(OLZ, CARN, VEKT), None, "no_result"),), {}),
    # Round 2 alone, held against 3:33 (round 1 was completed in 3:33): the first attackers win.
    Expected("2024-05-09 20:06:16", (t(OLZ, QMR, AUSS), t(BOYY, CARN, VEKT)),
             (Map("etl_sp_delivery", t(OLZ, QMR, AUSS), t(OLZ, QMR, AUSS), "win"),), {t(OLZ, QMR, AUSS): 1}),
    # Round 2 alone, completed 8:26 < 9:45 by the Allies: the second attackers win.
    Expected("2024-08-13 23:16:56", (t(WJS, BOYY, CARN), t(OLZ, VEKT, LGZ)),
             (Map("sw_goldrush_te", t(WJS, BOYY, CARN), t(OLZ, VEKT, LGZ), "win"),), {t(OLZ, VEKT, LGZ): 1}),
    # One player on one side: one roster only.
    Expected("2024-09-11 21:25:40", (t(WJS),), (Map("supply", t(), None, "no_result"),), {}),
    # Header only (no players): no teams, nothing to score.
    Expected("2024-09-12 17:49:49", (), (), {}),
    Expected("2024-10-10 21:31:54", (t(QMR, BOYY, LGZ), t(OLZ, BRONZE, ENDEKK)),
             (Map("etl_adlernest", t(OLZ, BRONZE, ENDEKK), None, "no_result"),), {}),
    Expected("2025-01-06 22:18:47", (t(WJS, VID, ENDEKK), t(OLZ, QMR, LGZ)),
             (Map("supply", t(WJS, VID, ENDEKK), t(WJS, VID, ENDEKK), "win"),), {t(WJS, VID, ENDEKK): 1}),
    Expected("2025-01-10 22:12:24", (t(CARN, WJS, VID), t(OLZ, BOYY, LGZ)),
             (Map("etl_adlernest", t(CARN, WJS, VID), t(CARN, WJS, VID), "win"),), {t(CARN, WJS, VID): 1}),
    Expected("2025-02-16 22:27:14", (t(BOYY, CARN, VEKT, WJS), t(OLZ, LGZ, VID, ENDEKK)),
             (Map("te_escape2", t(OLZ, LGZ, VID, ENDEKK), None, "no_result"),), {}),
    Expected("2025-04-06 22:42:34", (t(BOYY, LGZ, VID, ENDEKK), t(OLZ, QMR, CARN, BRONZE)),
             (Map("sw_goldrush_te", t(OLZ, QMR, CARN, BRONZE), None, "no_result"),), {}),
    # Round 2 alone, held against 4:00 on te_escape2, whose round 1s run 12:00: round 1 was completed.
    Expected("2025-05-22 22:54:10", (t(BOYY, VEKT, BRONZE), t(CARN, VID, ENDEKK)),
             (Map("te_escape2", t(BOYY, VEKT, BRONZE), t(BOYY, VEKT, BRONZE), "win"),),
             {t(BOYY, VEKT, BRONZE): 1}),
    Expected("2025-09-24 23:32:55", (t(OLZ, IPKISS, BOYY, VEKT, VID), t(WJS, QMR, CARN, LGZ, BRONZE)),
             (Map("te_escape2", t(WJS, QMR, CARN, LGZ, BRONZE), t(OLZ, IPKISS, BOYY, VEKT, VID), "win", 236, 200),),
             {t(OLZ, IPKISS, BOYY, VEKT, VID): 1}),
    Expected("2025-10-02 21:18:08", (X, Y),
             (Map("etl_adlernest", Y, Y, "win", 231, 231), Map("supply", X, Y, "win", 581, 502)), {Y: 2, X: 0}),
    Expected("2025-10-02 23:07:07", (X, Y),
             (Map("braundorf_b4", Y, Y, "win", 472, 472), Map("erdenberg_t2", X, Y, "win", 447, 240)),
             {Y: 2, X: 0}),
    # The evening: one four-player team won all three maps.
    Expected("2025-10-14 21:22:14", (P, Q),
             (Map("etl_adlernest", Q, Q, "win", 138, 138), Map("te_escape2", P, Q, "win", 531, 298),
              Map("te_escape2", Q, Q, "win", 146, 146)), {Q: 3, P: 0}),
    # etl_ice: the Allies defend, so the Axis attack first.
    Expected("2025-10-14 23:28:28", (P, Q),
             (Map("etl_ice", Q, Q, "win", 138, 138), Map("etl_ice", P, Q, "win", 522, 394)), {Q: 2, P: 0}),
    # An abandoned round 1 with the clans on the other sides, then the real match.
    Expected("2025-10-17 20:21:40", (OG, t(IMB, ADDER, EDO)),
             (Map("supply", t(IMB, ADDER), None, "no_result"), Map("supply", OG, OG, "win", 462, 462)),
             {OG: 1, t(IMB, ADDER, EDO): 0}, names={OG: "oG"}),
    Expected("2025-10-17 23:12:08", (t(BOLEK, FNX, KONRAD), OG),
             (Map("frostbite", OG, t(BOLEK, FNX, KONRAD), "win", 307, 81),), {t(BOLEK, FNX, KONRAD): 1, OG: 0}),
    Expected("2025-10-19 21:43:30", (U, V), (Map("supply", V, U, "win", 641, 509),), {U: 1, V: 0}),
    # Across midnight.
    Expected("2025-10-19 23:53:07", (U, V), (Map("etl_adlernest", V, U, "win", 420, 416),), {U: 1, V: 0}),
    Expected("2025-10-22 22:30:26", (t(CRU, OLZ, CARN, VID), t(IPKISS, BOYY, LGZ, ENDEKK)),
             (Map("bremen_b3", t(IPKISS, BOYY, LGZ, ENDEKK), t(IPKISS, BOYY, LGZ, ENDEKK), "win", 342, 342),),
             {t(IPKISS, BOYY, LGZ, ENDEKK): 1}),
    # carniee and vid were spectators at the end of round 2: still on their teams.
    Expected("2025-10-23 22:06:33", (t(BOYY, LGZ, VID, ENDEKK), t(OLZ, QMR, CARN, BRONZE)),
             (Map("etl_sp_delivery", t(OLZ, QMR, CARN, BRONZE), t(BOYY, LGZ, VID, ENDEKK), "win", 508, 352),),
             {t(BOYY, LGZ, VID, ENDEKK): 1}),
    Expected("2025-10-24 23:00:20", (t(IMB, FNX, IPKISS), OG),
             (Map("adlernest", OG, OG, "win", 189, 189),), {OG: 1}),
    # SarGel spectated round 2 and Licious joined for it: one Maccabros roster of four.
    Expected("2025-10-25 15:59:00", (t(SARGEL, NOA, INTER, LICIOUS), OG),
             (Map("supply", OG, t(SARGEL, NOA, INTER, LICIOUS), "win", 720, 593),),
             {t(SARGEL, NOA, INTER, LICIOUS): 1}, names={t(SARGEL, NOA, INTER, LICIOUS): "Maccabros", OG: "oG"}),
    # A round 2 written at a server restart (no result), then a full match NO MERCY won.
    Expected("2025-10-26 20:00:01", (NM, IMBT),
             (Map("etl_sp_delivery", NM, None, "no_result"), Map("etl_sp_delivery", IMBT, NM, "win", 720, 668)),
             {NM: 1, IMBT: 0}, names={NM: "NO MERCY"}),
    Expected("2025-10-28 22:32:41", (t(BOYY, VID, LGZ, ENDEKK), t(OLZ, WJS, CARN, BRONZE)),
             (Map("et_brewdog", t(OLZ, WJS, CARN, BRONZE), t(BOYY, VID, LGZ, ENDEKK), "win", 418, 144),),
             {t(BOYY, VID, LGZ, ENDEKK): 1}),
    Expected("2025-11-01 21:25:27", (SLOMIX3, M), (Map("supply", M, SLOMIX3, "win", 712, 639),),
             {SLOMIX3: 1, M: 0}, names={SLOMIX3: "slomix", M: "///M."}),
    # A fullhold the second attackers broke, then a double fullhold: a draw.
    Expected("2025-11-01 23:11:28", (SLOMIX5, RIPA),
             (Map("etl_sp_delivery", SLOMIX5, RIPA, "win", 720, 331), Map("etl_adlernest", RIPA, None, "draw", 600, 600)),
             {RIPA: 1, SLOMIX5: 0}, names={SLOMIX5: "slomix", RIPA: "ripaZha"}, draws=1),
    Expected("2025-11-11 22:21:41", (t(ENDEKK, LGZ, VID), t(OLZ, BOYY, CARN)),
             (Map("te_escape2", t(OLZ, BOYY, CARN), t(OLZ, BOYY, CARN), "win", 113, 113),), {t(OLZ, BOYY, CARN): 1}),
]  # fmt: skip


@pytest.fixture(scope="module")
def derived(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, SessionTeams]:
    """Import every real file (one server), then derive each session's teams."""
    import asyncio

    async def run() -> dict[str, SessionTeams]:
        async with await Database.open(tmp_path_factory.mktemp("real") / "db.sqlite") as db:
            for path in stats_files(samples_dir):
                await import_path(db, path)
            out = {}
            for row in await db.fetchall("SELECT id, started_at FROM sessions ORDER BY started_at"):
                out[str(row[1])] = await session_teams.derive(db, int(row[0]))
            return out

    return asyncio.run(run())


def test_every_real_session_is_expected(derived: dict[str, SessionTeams]) -> None:
    assert sorted(derived) == sorted(e.started_at for e in EXPECTED)


@pytest.mark.parametrize("exp", EXPECTED, ids=[e.started_at for e in EXPECTED])
def test_real_session_teams_and_score(derived: dict[str, SessionTeams], exp: Expected) -> None:
    got = derived[exp.started_at]
    by_no = {r.team: r.keys for r in got.rosters}
    assert sorted(by_no.values(), key=sorted) == sorted(exp.teams, key=sorted)
    assert len(got.maps) == len(exp.maps)
    for m, e in zip(got.maps, exp.maps, strict=True):
        assert m.map == e.map
        assert m.result == e.result, m
        if e.first:
            assert m.attacked_first is not None
            assert by_no[m.attacked_first] >= e.first
        else:
            assert m.attacked_first is None
        assert (by_no[m.winner] if m.winner else None) == e.winner
        if e.r1_time_s is not None:
            assert (m.r1_time_s, m.r2_time_s) == (e.r1_time_s, e.r2_time_s)
    assert {by_no[team]: won for team, won in got.score.items()} == {
        **dict.fromkeys(exp.teams, 0),
        **exp.score,
    }
    assert got.draws == exp.draws
    for team, name in (exp.names or {}).items():
        assert next(r.name for r in got.rosters if r.keys == team) == name
