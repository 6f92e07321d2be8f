""" "New record / personal best" notes of round posts, decided in the import transaction (real samples).

Expected values come from plain full-scan SQL over the stored history before the last file is imported
(not from the index walks the code uses), and from what the samples hold.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.db.connection import Database
from bot.db.round_notes import MIN_HISTORY
from bot.ingest.record_notes import MAX_SESSION_NOTES
from bot.ingest.session_posts import close_idle_sessions, session_summary_sync
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


async def _beatable_history(db: Database, samples_dir: Path) -> list[Path]:
    """The samples up to the last supply round 2 imported, the history made beatable; returns the files
    (the last supply round 2 is `files[cut]`, not imported yet)."""
    files = stats_files(samples_dir)
    cut = [p.name for p in files].index(LAST_SUPPLY_R2)
    for path in files[:cut]:
        await import_path(db, path)
    counted = "status IN ('r1', 'paired')"
    assert await _one(db, f"SELECT count(*) FROM rounds WHERE map = 'supply' AND {counted}") >= MIN_HISTORY
    # History made beatable: no earlier supply attack under 12:00, no earlier round above 5 kills.
    await db.execute("UPDATE rounds SET duration_s = 720 WHERE map = 'supply' AND duration_s < 720")
    await db.execute("UPDATE player_stats SET kills = min(kills, 5)")
    return files


async def test_new_records_and_personal_bests_are_noted_once(db: Database, samples_dir: Path) -> None:
    files = await _beatable_history(db, samples_dir)
    cut = [p.name for p in files].index(LAST_SUPPLY_R2)
    counted = "status IN ('r1', 'paired')"
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
    # The attackers are named as the session's team detection names them: slomix's clan tag.
    assert (
        notes[0] == f"New record on supply: fastest attack 10:39 by slomix (was {format_mss(fastest_before)})"
    )
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
    # The team named is the one whose roster (derived when the session is summarised) holds the round
    # 2's attackers.
    await close_idle_sessions(db, idle_seconds=0, now=time.time() + 10)
    attackers = {
        str(r[0])
        for r in await db.fetchall(
            "SELECT player_key FROM player_stats WHERE round_id = ? AND guid != 'OMNIBOT0' "
            "AND team = 3 - (SELECT defender FROM rounds WHERE id = ?)",
            (r2[0], r2[0]),
        )
    }
    slomix = {
        str(r[0])
        for r in await db.fetchall(
            "SELECT ro.player_key FROM session_rosters ro JOIN session_teams t "
            "ON t.session_id = ro.session_id AND t.team = ro.team "
            "WHERE t.name = 'slomix' AND ro.session_id = (SELECT session_id FROM rounds WHERE id = ?)",
            (r2[0],),
        )
    }
    assert attackers
    assert attackers <= slomix


_DPM = (
    "CASE WHEN ps.time_played_min >= 5 AND ps.damage_given > 0 "
    "THEN CAST(ps.damage_given AS REAL) / ps.time_played_min END"
)


async def test_the_session_post_sums_up_what_the_session_set(db: Database, samples_dir: Path) -> None:
    """Expected lines from full scans: the session's best values against every counted round played
    before the session started (whatever was imported later), history thresholds as for round notes."""
    files = await _beatable_history(db, samples_dir)
    cut = [p.name for p in files].index(LAST_SUPPLY_R2)
    await import_path(db, files[cut])
    for path in files[cut + 1 : cut + 5]:  # played after it (another session): they change nothing
        await import_path(db, path)
    session = await db.fetchone(
        "SELECT s.id, s.started_at FROM sessions s JOIN rounds r ON r.session_id = s.id WHERE r.filename = ?",
        (LAST_SUPPLY_R2,),
    )
    assert session is not None
    sid, start = int(session[0]), str(session[1])
    assert await _one(db, "SELECT count(DISTINCT session_id) FROM rounds WHERE played_at >= ?", (start,)) == 2
    counted = "r.status IN ('r1', 'paired') AND ps.guid != 'OMNIBOT0'"
    before = {
        str(r[0]): (int(r[1]), int(r[2]), r[3])
        for r in await db.fetchall(
            f"SELECT ps.player_key, count(*), max(ps.kills), max({_DPM}) FROM player_stats ps "
            f"JOIN rounds r ON r.id = ps.round_id WHERE {counted} AND r.played_at < ? GROUP BY ps.player_key",
            (start,),
        )
    }
    rows = await db.fetchall(
        f"SELECT ps.player_key, ps.clean_name, ps.kills, {_DPM}, r.map FROM player_stats ps "
        f"JOIN rounds r ON r.id = ps.round_id WHERE r.session_id = ? AND {counted} AND ps.team IN (1, 2)",
        (sid,),
    )
    kills_before = max(v[1] for v in before.values())
    dpm_before = max(v[2] for v in before.values() if v[2] is not None)
    top = max(rows, key=lambda r: (r[2], r[1]))
    top_dpm = max((r for r in rows if r[3] is not None), key=lambda r: (r[3], r[1]))
    fastest_before = await _one(
        db,
        "SELECT min(duration_s) FROM rounds WHERE map = 'supply' AND winner != defender "
        "AND status IN ('r1', 'paired') AND played_at < ?",
        (start,),
    )
    expected = [
        f"New record on supply: fastest attack 10:39 by slomix (was {format_mss(fastest_before)})",
        f"New server record: {top[1]} {top[2]} kills in a round on supply (was {kills_before})",
    ]
    if top_dpm[3] > dpm_before:
        dpm_line = f"{top_dpm[1]} {top_dpm[3]:.0f} DPM in a round on supply (was {dpm_before:.0f})"
        expected.append(f"New server record: {dpm_line}")
    dpm_holder = top_dpm[0] if len(expected) == 3 else None
    personal = set()
    for key in {str(r[0]) for r in rows}:
        mine = [r for r in rows if r[0] == key]
        n, kills, dpm = before.get(key, (0, 0, None))
        if n < MIN_HISTORY:
            continue
        parts = []
        best = max(int(r[2]) for r in mine)
        if best > kills and key != top[0]:
            parts.append(f"{best} kills")
        best_dpm = max((float(r[3]) for r in mine if r[3] is not None), default=None)
        if best_dpm is not None and dpm is not None and best_dpm > dpm and key != dpm_holder:
            parts.append(f"{best_dpm:.0f} DPM")
        if parts:
            personal.add(f"Personal best: {mine[0][1]} {', '.join(parts)}")
    assert personal, "the doctored history makes the regulars' kills personal bests"
    await close_idle_sessions(db, idle_seconds=0, now=time.time() + 10)
    post = await db.fetchone("SELECT payload FROM outbox WHERE kind = 'session' AND dedupe_key LIKE ?",
                             (f"session:main:{sid}:%",))  # fmt: skip
    assert post is not None
    notes = json.loads(post[0])["notes"]
    total = len(expected) + len(personal)
    assert notes[: len(expected)] == expected
    assert len(notes) == min(total, MAX_SESSION_NOTES)
    shown = notes[len(expected) :]
    if total > MAX_SESSION_NOTES:
        rest = total - (MAX_SESSION_NOTES - 1)
        assert shown[-1] == f"+{rest} more personal best{'s' if rest > 1 else ''}"
        shown = shown[:-1]
    assert set(shown) <= personal
    # The same summary later (`/last_session`, `statsbot session show`) says the same.
    async with db.transaction() as tx:
        again = await tx.call(session_summary_sync, sid)
    assert again is not None
    assert again["notes"] == notes
