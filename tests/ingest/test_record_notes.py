""" "New record / personal best" notes of round posts, decided in the import transaction (real samples).

Expected values come from plain full-scan SQL over the stored history before the last file is imported
(not from the index walks the code uses), and from what the samples hold.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.db.connection import Database
from bot.db.round_notes import MIN_HISTORY
from bot.stats.times import format_mss
from tests.helpers.engines import NewStore
from tests.helpers.store import import_path, stats_files

LAST_SUPPLY_R1 = "2025-11-01-212527-supply-round-1.txt"
LAST_SUPPLY_R2 = "2025-11-01-213712-supply-round-2.txt"  # slomix completed supply in 10:39


@pytest.fixture
async def db(new_store: NewStore) -> AsyncIterator[Database]:
    database = await Database.open(new_store())
    try:
        yield database
    finally:
        await database.close()


async def _round_posts(db: Database) -> dict[str, list[str]]:
    rows = await db.fetchall("SELECT dedupe_key, payload FROM outbox WHERE kind = 'round' ORDER BY id")
    return {str(r[0]): json.loads(r[1])["notes"] for r in rows}


async def _one(db: Database, sql: str, params: tuple[Any, ...] = ()) -> Any:
    row = await db.fetchone(sql, params)
    assert row is not None
    return row[0]


async def test_no_note_without_history(db: Database, samples_dir: Path) -> None:
    """A fresh database: the first rounds set no record, whatever they hold."""
    for path in stats_files(samples_dir)[:14]:
        await import_path(db, path)
    posts = await _round_posts(db)
    assert len(posts) >= 8
    assert all(notes == [] for notes in posts.values()), posts


async def test_new_records_and_personal_bests_are_noted_once(db: Database, samples_dir: Path) -> None:
    files = stats_files(samples_dir)
    cut = [p.name for p in files].index(LAST_SUPPLY_R2)
    for path in files[:cut]:
        await import_path(db, path)
    counted = "status IN ('r1', 'paired')"
    assert await _one(db, f"SELECT count(*) FROM rounds WHERE map = 'supply' AND {counted}") >= MIN_HISTORY
    # History made beatable: no earlier supply attack under 12:00, no earlier round above 5 kills.
    await db.execute("UPDATE rounds SET duration_s = 720 WHERE map = 'supply' AND duration_s < 720")
    await db.execute("UPDATE player_stats SET kills = min(kills, 5)")
    fastest_before = await _one(
        db, f"SELECT min(duration_s) FROM rounds WHERE map = 'supply' AND winner != defender AND {counted}"
    )
    earlier = {
        str(r[0]): int(r[1])
        for r in await db.fetchall(
            f"SELECT ps.player_key, count(*) FROM player_stats ps JOIN rounds r ON r.id = ps.round_id "
            f"WHERE r.{counted} GROUP BY ps.player_key"
        )
    }
    await import_path(db, files[cut])
    r2 = await db.fetchone("SELECT id, duration_s, status FROM rounds WHERE filename = ?", (LAST_SUPPLY_R2,))
    assert r2 is not None
    assert r2[2] == "paired"
    assert r2[1] == 639
    top = await db.fetchone(
        "SELECT clean_name, kills FROM player_stats WHERE round_id = ? "
        "ORDER BY kills DESC, clean_name LIMIT 1",
        (r2[0],),
    )
    assert top is not None
    assert top[1] > 5
    notes = (await _round_posts(db))[f"round:main:{LAST_SUPPLY_R2}:paired:{LAST_SUPPLY_R1}"]
    assert notes[0] == f"New record on supply: fastest attack 10:39 (was {format_mss(fastest_before)})"
    assert notes[1] == f"New server record: {top[0]} {top[1]} kills in a round (was 5)"
    personal = [n for n in notes if n.startswith("Personal best: ")]
    assert personal, notes  # regulars scored more than 5: each is a personal best
    in_round = {
        str(r[0]): str(r[1])
        for r in await db.fetchall(
            "SELECT clean_name, player_key FROM player_stats WHERE round_id = ?", (r2[0],)
        )
    }
    for line in personal:
        [name] = [n for n in in_round if line.startswith(f"Personal best: {n} ")]
        assert name != top[0] or "kills" not in line  # the record holder is told once
        assert earlier.get(in_round[name], 0) >= MIN_HISTORY, line
    assert len(personal) <= 3
    assert all(n.startswith(("New record on", "New server record", "Personal best")) for n in notes)
    # The match post (what the default `posts = "matches"` shows) carries the same notes.
    match = await db.fetchone(
        "SELECT payload FROM outbox WHERE dedupe_key = ?", (f"match:main:{LAST_SUPPLY_R1}:{LAST_SUPPLY_R2}",)
    )
    assert match is not None
    match_notes = json.loads(match[0])["notes"]
    assert set(notes) <= set(match_notes)
    assert len(match_notes) == len(set(match_notes))
    # Exactly once: the same file again is a no-op, the post is not queued again.
    before = await _one(db, "SELECT count(*) FROM outbox")
    await import_path(db, files[cut])
    assert await _one(db, "SELECT count(*) FROM outbox") == before
