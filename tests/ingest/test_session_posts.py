"""The session post: teams derived and stored in the closing transaction, score, maps, MVP, awards, chart;
re-derived when a round is reprocessed or an orphan changes the picture."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.db import outbox
from bot.db.connection import Database
from bot.ingest.session_posts import close_idle_sessions, session_summary_sync
from bot.ops.reprocess import Target, reprocess_one
from tests.helpers.engines import NewStore
from tests.helpers.store import import_path

# 2025-10-14, 21:22 → 22:19: one session of three maps (see tests/db/test_session_teams_real.py).
EVENING = [
    "2025-10-14-212214-etl_adlernest-round-1.txt",
    "2025-10-14-212521-etl_adlernest-round-2.txt",
    "2025-10-14-220707-te_escape2-round-1.txt",
    "2025-10-14-221259-te_escape2-round-2.txt",
    "2025-10-14-221625-te_escape2-round-1.txt",
    "2025-10-14-221952-te_escape2-round-2.txt",
]
WINNERS = {"SmetarskiLoto", "vid", "squAze:)", "endekk"}


@pytest.fixture
async def db(new_store: NewStore, samples_dir: Path) -> AsyncIterator[Database]:
    database = await Database.open(new_store())
    try:
        for name in EVENING:
            await import_path(database, samples_dir / name, now=1000.0)
        yield database
    finally:
        await database.close()


async def _session_post(db: Database) -> dict[str, object]:
    closed = await close_idle_sessions(db, idle_seconds=60, now=5000.0)
    assert len(closed) == 1
    rows = [r for r in await outbox.due(db, now=6000.0, limit=100) if r.kind == "session"]
    assert len(rows) == 1
    return dict(rows[0].payload)


async def test_session_post_has_the_score_maps_mvp_awards_and_rosters(db: Database) -> None:
    p = await _session_post(db)
    teams = {t["name"]: t for t in p["teams"]}  # type: ignore[attr-defined]
    assert sorted(t["maps_won"] for t in teams.values()) == [0, 3]
    winner = next(t for t in teams.values() if t["maps_won"] == 3)
    assert set(winner["players"]) == WINNERS
    assert [m["map"] for m in p["maps"]] == ["etl_adlernest", "te_escape2", "te_escape2"]  # type: ignore[attr-defined]
    assert all(m["winner"] == winner["team"] for m in p["maps"])  # type: ignore[attr-defined]
    assert p["mvp"] is not None
    assert 4 <= len(p["awards"]) <= 6  # type: ignore[arg-type]
    assert len(p["players"]) == 8  # type: ignore[arg-type]
    assert p["chart"]["maps"] == ["etl_adlernest", "te_escape2", "te_escape2 #2"]  # type: ignore[index]
    assert len(p["chart"]["series"]) == 8  # type: ignore[index]
    stored = await db.fetchall("SELECT name, maps_won FROM session_teams ORDER BY team")
    assert sorted(int(r[1]) for r in stored) == [0, 3]


async def test_reprocess_derives_the_session_again(db: Database, samples_dir: Path) -> None:
    await _session_post(db)
    await db.execute("UPDATE session_teams SET maps_won = 99")  # what a stale derivation would look like
    result = await reprocess_one(db, Settings.from_values(), Target("main", EVENING[1]), source="stored")
    assert result.ok, result.detail
    stored = await db.fetchall("SELECT maps_won FROM session_teams ORDER BY maps_won")
    assert [int(r[0]) for r in stored] == [0, 3]


async def test_a_new_round_makes_the_stored_teams_stale_and_readers_derive_again(
    db: Database, samples_dir: Path
) -> None:
    await _session_post(db)
    await import_path(db, samples_dir / "2025-10-14-232828-etl_ice-round-1.txt", now=7000.0)
    # 23:28 is more than an hour after 22:19: a new session; the closed one stays derived.
    assert [int(r[0]) for r in await db.fetchall("SELECT derived FROM sessions ORDER BY id")] == [1, 0]
    second = await db.fetchone("SELECT id FROM sessions ORDER BY id DESC LIMIT 1")
    assert second is not None
    payload = await db.run_transaction(session_summary_sync, int(second[0]))
    assert payload is not None
    assert [m["note"] for m in payload["maps"]] == ["no round 2"]
    assert [int(r[0]) for r in await db.fetchall("SELECT derived FROM sessions ORDER BY id")] == [1, 1]
