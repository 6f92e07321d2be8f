"""Win/loss/draw records kept from the real sessions' derived teams (migration 0009).

The expected records are summed from the hand-written expectations of test_session_teams_real.py
(each map's winner and the two rosters), not from the code's answer.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from bot.db import session_teams
from bot.db.connection import Database
from tests.db.test_session_teams_real import EXPECTED, WJS
from tests.helpers.store import import_path, stats_files

Record = tuple[int, int, int]


def expected_records() -> dict[str, Record]:
    won: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    drawn: Counter[str] = Counter()
    for e in EXPECTED:
        players = set().union(*e.teams) if e.teams else set()
        for m in e.maps:
            if m.result == "draw":
                drawn.update(players)
            elif m.result == "win" and m.winner is not None:
                won.update(m.winner)
                lost.update(players - m.winner)
    keys = set(won) | set(lost) | set(drawn)
    return {k: (won[k], lost[k], drawn[k]) for k in keys}


async def _records(db: Database) -> dict[str, Record]:
    rows = await db.fetchall("SELECT player_key, won, lost, drawn, maps FROM player_results")
    assert all(int(r[4]) == int(r[1]) + int(r[2]) + int(r[3]) for r in rows)
    return {str(r[0]): (int(r[1]), int(r[2]), int(r[3])) for r in rows}


async def _day_sums(db: Database) -> dict[str, Record]:
    rows = await db.fetchall(
        "SELECT player_key, sum(won), sum(lost), sum(drawn) FROM player_day_results GROUP BY player_key"
    )
    return {str(r[0]): (int(r[1]), int(r[2]), int(r[3])) for r in rows}


@pytest.fixture(scope="module")
def kept(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Import every real file; record W/L before deriving, after, after re-deriving, after a stale flag."""

    async def run() -> dict[str, object]:
        async with await Database.open(tmp_path_factory.mktemp("wl") / "db.sqlite") as db:
            for path in stats_files(samples_dir):
                await import_path(db, path)
            ids = [int(r[0]) for r in await db.fetchall("SELECT id FROM sessions ORDER BY started_at")]
            await db.execute("UPDATE sessions SET derived = 0")
            out: dict[str, object] = {"before": await _records(db)}
            for sid in ids:
                await session_teams.derive(db, sid)
            out["after"] = await _records(db)
            out["days"] = await _day_sums(db)
            for sid in ids:  # re-deriving replaces, never adds
                await session_teams.derive(db, sid)
            out["again"] = await _records(db)
            last = ids[-1]  # 2025-11-11: olz, SuperBoyy, carniee beat endekk, lgz, vid on te_escape2
            await db.execute("UPDATE sessions SET derived = 0 WHERE id = ?", (last,))
            out["stale"] = await _records(db)
            await session_teams.ensure_derived(db, last)
            out["rederived"] = await _records(db)
            return out

    return asyncio.run(run())


def test_no_record_before_sessions_are_derived(kept: dict[str, object]) -> None:
    assert kept["before"] == {}


def test_every_players_record_matches_the_files(kept: dict[str, object]) -> None:
    assert kept["after"] == expected_records()


def test_known_records(kept: dict[str, object]) -> None:
    got = kept["after"]
    assert isinstance(got, dict)
    # wjs, read map by map: lost goldrush (2024-08-13), won supply (2025-01-06) and adlernest (01-10),
    # lost te_escape2 (09-24), supply and adlernest (10-19) and et_brewdog (10-28); no-result maps count not.
    assert got[WJS] == (2, 5, 0)
    # The 2025-11-01 double fullhold on etl_adlernest: all ten players drew once.
    assert sum(1 for r in got.values() if r[2] == 1) == 10


def test_rederiving_is_idempotent_and_days_add_up(kept: dict[str, object]) -> None:
    assert kept["again"] == kept["after"]
    assert kept["days"] == kept["after"]


def test_a_stale_session_counts_for_no_one_until_derived_again(kept: dict[str, object]) -> None:
    after, stale = kept["after"], kept["stale"]
    assert isinstance(after, dict)
    assert isinstance(stale, dict)
    from tests.db.test_session_teams_real import BOYY, CARN, ENDEKK, OLZ

    assert stale[OLZ] == (after[OLZ][0] - 1, *after[OLZ][1:])
    assert stale[BOYY][0] == after[BOYY][0] - 1
    assert stale[CARN][0] == after[CARN][0] - 1
    assert stale[ENDEKK] == (after[ENDEKK][0], after[ENDEKK][1] - 1, after[ENDEKK][2])
    assert kept["rederived"] == after
