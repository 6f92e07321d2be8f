"""The exactly-once import against a real migrated SQLite file, fed with the real sample files."""

from __future__ import annotations

import hashlib
import itertools
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.db import files, rounds, sessions, status
from bot.db.connection import Database
from bot.db.tx import DRIVER_ERRORS
from bot.ingest.importer import (
    FileToImport,
    ImportSettings,
    close_idle_sessions,
    import_batch,
    sweep_pending_round2,
)
from bot.ingest.registry import MemoryCache, Registry
from bot.ingest.source import RemoteEntry
from bot.stats.differential import round2_only
from bot.stats.pairing import pair_rounds, round_ref
from bot.stats.parser import parse_round
from tests.helpers.engines import add_failing_trigger, drop_trigger
from tests.helpers.store import count, import_bytes, import_path, players_by_name, stats_files

ERD_R1 = "2025-10-02-232339-erdenberg_t2-round-1.txt"
ERD_R2 = "2025-10-02-232818-erdenberg_t2-round-2.txt"
SHUTDOWN_R2 = "2025-10-26-200001-etl_sp_delivery-round-2.txt"
LATER_R1 = "2025-10-26-201727-etl_sp_delivery-round-1.txt"

# §15.1 ground truth, erdenberg round 2 only: kills, deaths, damage given, head hits, headshot kills (raw).
ERDENBERG_R2_ONLY = {
    "vid": (5, 6, 1135, 4, 0),
    "qmr": (5, 5, 646, 2, 0),
    "endekk": (4, 7, 700, 6, 3),
    ".olz": (5, 4, 1360, 6, 1),
    "SmetarskiProner": (2, 6, 917, 1, 0),
    "SuperBoyy": (10, 3, 1339, 5, 2),
}


@pytest.fixture
def db(store_db: Database) -> Database:
    """A migrated database, SQLite then PostgreSQL (tests/helpers/engines.py)."""
    return store_db


async def _pairs(db: Database) -> dict[str, str]:
    rows = await db.fetchall(
        "SELECT r2.filename, r1.filename FROM rounds r2 JOIN rounds r1 ON r1.id = r2.paired_round_id "
        "WHERE r2.round_number = 2"
    )
    return {r[0]: r[1] for r in rows}


async def _snapshot(db: Database) -> dict[str, Any]:
    """Everything the import order must not change: rounds, players, weapons, matches (ids left out)."""
    rounds_rows = await db.fetchall(
        "SELECT r.filename, r.status, r.duration_s, r.flags, r.player_count, p.filename "
        "FROM rounds r LEFT JOIN rounds p ON p.id = r.paired_round_id ORDER BY r.filename"
    )
    players = await db.fetchall(
        "SELECT r.filename, ps.* FROM player_stats ps JOIN rounds r ON r.id = ps.round_id "
        "ORDER BY r.filename, ps.player_key"
    )
    weapons = await db.fetchall(
        "SELECT r.filename, ws.* FROM weapon_stats ws JOIN rounds r ON r.id = ws.round_id "
        "ORDER BY r.filename, ws.player_key, ws.weapon"
    )
    matches = await db.fetchall(
        "SELECT a.filename, b.filename, m.outcome, m.winner_team, m.r1_time_s, m.r2_time_s FROM matches m "
        "JOIN rounds a ON a.id = m.r1_round_id JOIN rounds b ON b.id = m.r2_round_id ORDER BY a.filename"
    )

    def strip(row: sqlite3.Row) -> tuple[Any, ...]:
        return tuple(v for k, v in zip(row.keys(), tuple(row), strict=True) if k != "round_id")

    return {
        "rounds": [tuple(r) for r in rounds_rows],
        "players": [strip(r) for r in players],
        "weapons": [strip(r) for r in weapons],
        "matches": [tuple(r) for r in matches],
    }


async def test_every_sample_imports(db: Database, samples_dir: Path) -> None:
    for i, path in enumerate(sorted(samples_dir.glob("*.txt"))):
        outcome = await import_path(db, path, now=1000.0 + i)
        expected = "ignored" if path.name.endswith("-endstats.txt") else "imported"
        assert outcome.state == expected, (path.name, outcome)
    assert await count(db, "rounds") == len(stats_files(samples_dir))
    states = await files.count_by_state(db)
    assert states == {"imported": len(stats_files(samples_dir)), "ignored": 1}
    assert await db.integrity_check() == ["ok"]


@pytest.mark.parametrize("seed", [None, "reversed", 1, 2, 3, 4])
async def test_any_import_order_gives_the_same_pairs_and_values(
    tmp_path: Path, samples_dir: Path, seed: int | str | None
) -> None:
    paths = stats_files(samples_dir)
    expected = pair_rounds(round_ref(parse_round(p.name, p.read_bytes())) for p in paths).pairs
    assert len(expected) > 20  # the sample set really exercises pairing
    async with await Database.open(tmp_path / "chrono.db") as chrono:
        for i, p in enumerate(paths):
            await import_path(chrono, p, now=1000.0 + i)
        baseline = await _snapshot(chrono)
        assert await _pairs(chrono) == dict(expected)
    order = list(paths)
    if seed == "reversed":
        order.reverse()
    elif isinstance(seed, int):
        random.Random(seed).shuffle(order)
    async with await Database.open(tmp_path / "shuffled.db") as db:
        for i, p in enumerate(order):
            assert (await import_path(db, p, now=1000.0 + i)).state == "imported"
        assert await _pairs(db) == dict(expected)
        assert await _snapshot(db) == baseline
        # A round 2 with no pair is an orphan once every file is in (a later round 1 exists).
        statuses = {r[0]: r[1] for r in await db.fetchall("SELECT filename, status FROM rounds")}
        for p in paths:
            want = "r1" if p.name.endswith("round-1.txt") else "paired" if p.name in expected else "orphan"
            assert statuses[p.name] == want, p.name
        assert await count(db, "matches") == len(expected)


async def test_paired_values_are_the_differential(db: Database, samples_dir: Path) -> None:
    paths = stats_files(samples_dir)
    for i, p in enumerate(reversed(paths)):  # every round 2 arrives before its round 1
        await import_path(db, p, now=1000.0 + i)
    pairs = await _pairs(db)
    assert pairs == dict(pair_rounds(round_ref(parse_round(p.name, p.read_bytes())) for p in paths).pairs)
    for r2_name, r1_name in pairs.items():
        r1 = parse_round(r1_name, (samples_dir / r1_name).read_bytes())
        r2 = parse_round(r2_name, (samples_dir / r2_name).read_bytes())
        only = round2_only(r1, r2)
        stored = await players_by_name(db, "main", r2_name)
        assert len(stored) == len(only.players)
        for player in only.players:
            row = stored[player.clean_name]
            expected = (player.kills, player.deaths, player.headshot_hits, player.extras.get("damage_given"))
            assert (row["kills"], row["deaths"], row["headshot_hits"], row["damage_given"]) == expected


async def test_round2_before_round1_is_rederived(db: Database, samples_dir: Path) -> None:
    outcome = await import_path(db, samples_dir / ERD_R2, now=100.0)
    assert outcome.state == "imported"
    r2 = await rounds.get_round_by_file(db, "main", ERD_R2)
    assert r2 is not None
    assert r2.status == "pending_r1"
    raw = await players_by_name(db, "main", ERD_R2)
    assert raw["vid"]["kills"] == 16  # cumulative R1+R2 value while the round 1 is missing
    assert await count(db, "outbox") == 0  # a pending round 2 is not posted

    await import_path(db, samples_dir / ERD_R1, now=200.0)
    r2 = await rounds.get_round_by_file(db, "main", ERD_R2)
    r1 = await rounds.get_round_by_file(db, "main", ERD_R1)
    assert r1 is not None
    assert r2 is not None
    assert (r2.status, r2.paired_round_id, r1.paired_round_id) == ("paired", r1.id, r2.id)
    stored = await players_by_name(db, "main", ERD_R2)
    got = {
        name: (p["kills"], p["deaths"], p["damage_given"], p["headshot_hits"], p["headshot_kills"])
        for name, p in stored.items()
    }
    assert got == ERDENBERG_R2_ONLY
    assert {p["time_played_min"] for p in stored.values()} == {4.0}
    kinds = [tuple(r) for r in await db.fetchall("SELECT kind, dedupe_key FROM outbox ORDER BY id")]
    assert [k for k, _ in kinds] == ["round", "round", "match"]
    assert kinds[1][1].endswith(f"{ERD_R2}:paired:{ERD_R1}")
    match = await db.fetchone("SELECT outcome, r1_time_s, r2_time_s FROM matches")
    assert match is not None
    assert tuple(match) == ("r2_attackers", 447, 240)


async def test_round2_becomes_orphan_when_a_later_round1_arrives(db: Database, samples_dir: Path) -> None:
    await import_path(db, samples_dir / SHUTDOWN_R2, now=1.0)
    assert (await rounds.get_round_by_file(db, "main", SHUTDOWN_R2)).status == "pending_r1"  # type: ignore[union-attr]
    await import_path(db, samples_dir / LATER_R1, now=2.0)
    orphan = await rounds.get_round_by_file(db, "main", SHUTDOWN_R2)
    assert orphan is not None
    assert (orphan.status, orphan.paired_round_id, "orphan" in orphan.flag_set) == ("orphan", None, True)
    posts = [tuple(r) for r in await db.fetchall("SELECT kind, dedupe_key, payload FROM outbox ORDER BY id")]
    orphan_posts = [p for p in posts if p[1].endswith(":orphan")]
    assert len(orphan_posts) == 1
    assert '"status":"orphan"' in orphan_posts[0][2]


async def test_reimport_is_a_noop(db: Database, samples_dir: Path) -> None:
    paths = sorted(samples_dir.glob("*.txt"))
    for i, p in enumerate(paths):
        await import_path(db, p, now=1000.0 + i)
    before = {t: await count(db, t) for t in ("rounds", "player_stats", "outbox", "file_events", "matches")}
    snapshot = await _snapshot(db)
    for i, p in enumerate(paths):
        outcome = await import_path(db, p, now=5000.0 + i)
        assert outcome.detail.get("noop") is True
        assert outcome.state in ("imported", "ignored")
    assert {t: await count(db, t) for t in before} == before
    assert await _snapshot(db) == snapshot


async def test_same_content_under_another_name_or_server_is_a_duplicate(
    db: Database, samples_dir: Path
) -> None:
    data = (samples_dir / ERD_R1).read_bytes()
    first = await import_bytes(db, ERD_R1, data, now=1.0)
    renamed = "2025-10-02-232340-erdenberg_t2-round-1.txt"
    dup = await import_bytes(db, renamed, data, now=2.0)
    other = await import_bytes(db, ERD_R1, data, server="second", now=3.0)
    assert (dup.state, other.state) == ("duplicate", "duplicate")
    assert dup.detail == {"original_server": "main", "original_file": ERD_R1}
    assert await count(db, "rounds") == 1
    row = await files.get_row(db, "second", ERD_R1)
    assert row is not None
    assert row.state == "duplicate"
    assert row.round_id is None
    assert first.round_id is not None
    assert (await files.events_for(db, "main", renamed))[-1].detail["round_id"] == first.round_id


async def test_parse_error_quarantines_with_file_line_field(db: Database, samples_dir: Path) -> None:
    lines = (samples_dir / ERD_R1).read_bytes().split(b"\n")
    guid, name, rounds_, team, rest = lines[2].split(b"\\")
    weapons, extras = rest.split(b"\t", 1)
    lines[2] = b"\\".join([guid, name, rounds_, team, weapons.rsplit(b" ", 2)[0] + b" \t" + extras])
    bad = b"\n".join(lines)
    outcome = await import_bytes(db, ERD_R1, bad, now=10.0)
    assert outcome.state == "quarantined"
    row = await files.get_row(db, "main", ERD_R1)
    assert row is not None
    assert row.state == "quarantined"
    assert row.last_error is not None
    assert ERD_R1 in row.last_error
    assert "line 3" in row.last_error
    assert "player.weapons" in row.last_error
    event = (await files.events_for(db, "main", ERD_R1))[-1]
    assert (event.event, event.detail["line"], event.detail["field"]) == ("quarantined", 3, "player.weapons")
    assert await count(db, "rounds") == 0
    alerts = await db.fetchall("SELECT kind, channel FROM outbox")
    assert [tuple(a) for a in alerts] == [("alert", "admin")]
    again = await import_bytes(db, ERD_R1, bad, now=11.0)  # same bytes: no second alert
    assert again.state == "quarantined"
    assert await count(db, "outbox") == 1
    # The daemon downloads the new version first (state 'downloaded'), then imports it: still resolved.
    async with db.transaction() as tx:
        await files.set_state(tx, "main", ERD_R1, "downloaded", now=11.5)
    fixed = await import_path(db, samples_dir / ERD_R1, now=12.0)  # a new version imports and resolves
    assert fixed.state == "imported"
    assert await status.open_alerts(db) == []
    kinds = [r[0] for r in await db.fetchall("SELECT kind FROM outbox ORDER BY id")]
    assert kinds == ["alert", "round", "alert_resolved"]


async def test_incomplete_file_backs_off_then_quarantines(db: Database, samples_dir: Path) -> None:
    settings = ImportSettings(max_attempts=3, retry_base_seconds=10.0, retry_max_seconds=15.0)
    cut = (samples_dir / ERD_R1).read_bytes().rstrip(b"\n")
    first = await import_bytes(db, ERD_R1, cut, now=100.0, settings=settings)
    assert first.state == "failed"
    row = await files.get_row(db, "main", ERD_R1)
    assert row is not None
    assert (row.attempts, row.next_attempt_at) == (1, 110.0)
    second = await import_bytes(db, ERD_R1, cut, now=120.0, settings=settings)
    assert second.state == "failed"
    row = await files.get_row(db, "main", ERD_R1)
    assert row is not None
    assert (row.attempts, row.next_attempt_at) == (2, 135.0)
    third = await import_bytes(db, ERD_R1, cut, now=140.0, settings=settings)
    assert third.state == "quarantined"
    assert await count(db, "rounds") == 0
    assert [r[0] for r in await db.fetchall("SELECT kind FROM outbox")] == ["alert"]
    done = await import_path(db, samples_dir / ERD_R1, now=200.0, settings=settings)
    assert done.state == "imported"


async def test_content_changed_after_import_keeps_the_round(db: Database, samples_dir: Path) -> None:
    first = await import_path(db, samples_dir / ERD_R1, now=1.0)
    other = (samples_dir / ERD_R1).read_bytes().replace(b"\n", b"\r\n")  # same values, new bytes
    changed = await import_bytes(db, ERD_R1, other, now=2.0)
    assert changed.state == "quarantined"
    assert changed.error is not None
    assert "content changed after import" in changed.error
    stored = await rounds.get_round_by_file(db, "main", ERD_R1)
    assert stored is not None
    assert stored.id == first.round_id
    assert await count(db, "rounds") == 1


async def test_companions_are_ignored(db: Database, samples_dir: Path) -> None:
    name = "2026-01-12-224606-te_escape2-round-2-endstats.txt"
    outcome = await import_path(db, samples_dir / name)
    assert (outcome.state, outcome.detail) == ("ignored", {"kind": "endstats"})
    bogus = await import_bytes(db, "matchid.txt", b"123\n")
    assert bogus.state == "quarantined"  # not our grammar at all


async def test_failure_mid_import_leaves_nothing(db: Database, samples_dir: Path) -> None:
    await add_failing_trigger(db, "boom", "file_events", "injected failure", when="NEW.event = 'imported'")
    with pytest.raises(DRIVER_ERRORS, match="injected failure"):
        await import_path(db, samples_dir / ERD_R1, now=1.0)
    for table in ("rounds", "player_stats", "weapon_stats", "processed_files", "outbox", "sessions"):
        assert await count(db, table) == 0, table
    await drop_trigger(db, "boom", "file_events")
    assert (await import_path(db, samples_dir / ERD_R1, now=2.0)).state == "imported"


async def test_failed_rederivation_leaves_the_pending_round2_untouched(
    db: Database, samples_dir: Path
) -> None:
    await import_path(db, samples_dir / ERD_R2, now=1.0)
    before = await _snapshot(db)
    await add_failing_trigger(db, "boom", "matches", "injected")
    with pytest.raises(DRIVER_ERRORS, match="injected"):
        await import_path(db, samples_dir / ERD_R1, now=2.0)
    assert await _snapshot(db) == before
    assert await files.get_row(db, "main", ERD_R1) is None
    assert await count(db, "outbox") == 0


async def test_sessions_join_merge_and_close_once(db: Database, samples_dir: Path) -> None:
    settings = ImportSettings(session_gap=3600.0)
    # erdenberg R1 23:23:39, te_escape2 (2025-10-03 00:50) is outside the gap from it, but a round in
    # between bridges the two sessions.
    r1 = (samples_dir / ERD_R1).read_bytes()
    late = r1.replace(b"erdenberg_t2", b"latemap")
    mid = r1.replace(b"erdenberg_t2", b"midmap")
    await import_bytes(db, ERD_R1, r1, now=10.0, settings=settings)
    await import_bytes(db, "2025-10-03-005500-latemap-round-1.txt", late, now=11.0, settings=settings)
    assert len(await sessions.sessions_of(db, "main")) == 2
    await import_bytes(db, "2025-10-03-000900-midmap-round-1.txt", mid, now=12.0, settings=settings)
    (merged,) = await sessions.sessions_of(db, "main")
    assert (merged.started_at, merged.ended_at, merged.round_count) == (
        "2025-10-02 23:23:39",
        "2025-10-03 00:55:00",
        3,
    )
    assert {r[0] for r in await db.fetchall("SELECT session_id FROM rounds")} == {merged.id}
    assert await close_idle_sessions(db, idle_seconds=100.0, now=50.0) == []  # not idle yet
    assert await close_idle_sessions(db, idle_seconds=100.0, now=500.0) == [merged.id]
    assert await close_idle_sessions(db, idle_seconds=100.0, now=900.0) == []
    post = await db.fetchone("SELECT payload FROM outbox WHERE kind = 'session'")
    assert post is not None
    assert '"maps":["erdenberg_t2","midmap","latemap"]' in post[0]
    assert '"rounds":3' in post[0]


REPLAY = (  # te_escape2 played twice in a row: each R2 must keep its own R1 (§15.2)
    "2025-10-14-220707-te_escape2-round-1.txt",
    "2025-10-14-221259-te_escape2-round-2.txt",
    "2025-10-14-221625-te_escape2-round-1.txt",
    "2025-10-14-221952-te_escape2-round-2.txt",
)
ABANDONED = (  # an abandoned R1 followed by a new R1 of the same map and its R2 (§12 B12)
    "2025-10-17-202140-supply-round-1.txt",
    "2025-10-17-203425-supply-round-1.txt",
    "2025-10-17-204311-supply-round-2.txt",
)


@pytest.mark.parametrize("group", [REPLAY, ABANDONED], ids=["replay", "abandoned"])
async def test_every_arrival_order_of_a_tricky_group(
    tmp_path: Path, samples_dir: Path, group: tuple[str, ...]
) -> None:
    expected = dict(
        pair_rounds(round_ref(parse_round(n, (samples_dir / n).read_bytes())) for n in group).pairs
    )
    assert expected  # something pairs in each group
    snapshots = []
    for i, order in enumerate(itertools.permutations(group)):
        async with await Database.open(tmp_path / f"{i}.db") as db:
            for j, name in enumerate(order):
                await import_path(db, samples_dir / name, now=10.0 + j)
            assert await _pairs(db) == expected, order
            snapshots.append(await _snapshot(db))
            matches = await db.fetchall("SELECT r1_round_id, r2_round_id FROM matches")
            partners = await db.fetchall(
                "SELECT r1.id, r2.id FROM rounds r1 JOIN rounds r2 ON r2.id = r1.paired_round_id "
                "WHERE r1.round_number = 1"
            )
            assert sorted(tuple(m) for m in matches) == sorted(tuple(p) for p in partners)
    assert all(s == snapshots[0] for s in snapshots)


def _item(path: Path, server: str = "main") -> FileToImport:
    data = path.read_bytes()
    return FileToImport(server, path.name, len(data), 1, data, hashlib.sha256(data).hexdigest())


async def test_batch_import_equals_one_by_one(tmp_path: Path, samples_dir: Path) -> None:
    order = sorted(samples_dir.glob("*.txt"))
    random.Random(7).shuffle(order)
    async with await Database.open(tmp_path / "single.db") as single:
        for p in order:
            await import_path(single, p, now=50.0)
        expected = await _snapshot(single)
    async with await Database.open(tmp_path / "batch.db") as db:
        settings = ImportSettings()
        outcomes = await import_batch(db, [_item(p) for p in order[:30]], settings=settings, now=50.0)
        outcomes += await import_batch(db, [_item(p) for p in order[30:]], settings=settings, now=50.0)
        states = [o.state for o in outcomes]
        assert states.count("imported") == len(stats_files(samples_dir))
        assert states.count("ignored") == 1
        assert await _snapshot(db) == expected


async def test_batch_is_all_or_nothing(db: Database, samples_dir: Path) -> None:
    await add_failing_trigger(db, "boom", "rounds", "injected", when=f"NEW.filename = '{ERD_R2}'")
    items = [_item(samples_dir / ERD_R1), _item(samples_dir / LATER_R1), _item(samples_dir / ERD_R2)]
    with pytest.raises(DRIVER_ERRORS, match="injected"):
        await import_batch(db, items, settings=ImportSettings(), now=1.0)
    for table in ("rounds", "processed_files", "outbox", "file_events", "sessions"):
        assert await count(db, table) == 0, table


async def test_pending_round2_on_a_quiet_server_is_orphaned_after_the_grace(
    db: Database, samples_dir: Path
) -> None:
    await import_path(db, samples_dir / ERD_R2, now=1000.0)  # its round 1 never came; nothing else either
    window = ImportSettings().pairing_window
    assert await sweep_pending_round2(db, older_than_seconds=window, now=1000.0 + window - 1) == []
    r2 = await rounds.get_round_by_file(db, "main", ERD_R2)
    assert r2 is not None
    assert r2.status == "pending_r1"
    assert await count(db, "outbox") == 0

    assert await sweep_pending_round2(db, older_than_seconds=window, now=1000.0 + window + 1) == [r2.id]
    assert await sweep_pending_round2(db, older_than_seconds=window, now=9999.0) == []  # once
    orphan = await rounds.get_round_by_file(db, "main", ERD_R2)
    assert orphan is not None
    assert (orphan.status, "orphan" in orphan.flag_set) == ("orphan", True)
    posts = [tuple(r) for r in await db.fetchall("SELECT dedupe_key, payload FROM outbox")]
    assert len(posts) == 1
    assert posts[0][0] == f"round:main:{ERD_R2}:orphan"
    assert '"status":"orphan"' in posts[0][1]

    await import_path(db, samples_dir / ERD_R1, now=20_000.0)  # a very late round 1 still pairs
    paired = await rounds.get_round_by_file(db, "main", ERD_R2)
    assert paired is not None
    assert (paired.status, "orphan" in paired.flag_set) == ("paired", False)
    assert (await players_by_name(db, "main", ERD_R2))["vid"]["kills"] == ERDENBERG_R2_ONLY["vid"][0]


async def test_registry_layer4_is_one_query_for_any_number_of_new_names(
    db: Database, samples_dir: Path, tmp_path: Path
) -> None:
    await import_path(db, samples_dir / ERD_R1, now=1.0)
    await db.execute("DELETE FROM processed_files")  # a round without its registry row: layer 4 repairs
    registry = Registry(db, "main", tmp_path / "local", await MemoryCache.load(db))

    def entries(names: list[str]) -> list[RemoteEntry]:
        return [RemoteEntry(name=n, size=10, mtime=1, is_file=True) for n in names]

    size = (samples_dir / ERD_R1).stat().st_size  # the imported size: repaired (a different one is new)
    listed = [RemoteEntry(name=ERD_R1, size=size, mtime=7, is_file=True)]
    plan = await registry.plan([*listed, *entries(["2025-01-01-000000-supply-round-1.txt"])], now=2.0)
    assert (plan.rounds, plan.new) == (1, 1)
    row = (await files.get_rows(db, "main", [ERD_R1]))[ERD_R1]
    assert (row.state, row.size, row.mtime) == ("imported", size, 7)  # a complete row, from the listing

    def new_names(start: int, n: int) -> list[str]:
        return [f"2025-02-01-{i:06d}-supply-round-1.txt" for i in range(start, start + n)]

    before = db.statements
    plan = await registry.plan(entries(new_names(0, 3)), now=3.0)
    cost_few = db.statements - before
    before = db.statements
    plan = await registry.plan(entries(new_names(100, 300)), now=4.0)
    assert plan.new == 300
    assert db.statements - before == cost_few  # layer 3, layer 4 and record_seen: one query each


async def test_a_round_deleted_by_hand_never_has_its_id_reused(
    sqlite_db: Database, samples_dir: Path
) -> None:
    """The sqlite3 shell deletes with foreign keys OFF, leaving player rows; a new round must not collide."""
    db = sqlite_db
    first = await import_path(db, samples_dir / ERD_R1, now=10.0)
    assert first.round_id is not None
    shell = sqlite3.connect(db.path)  # a second connection, like an operator's sqlite3 shell
    try:
        shell.execute("DELETE FROM rounds WHERE id = ?", (first.round_id,))
        shell.execute("DELETE FROM processed_files WHERE filename = ?", (ERD_R1,))
        shell.commit()
    finally:
        shell.close()
    assert await count(db, "player_stats") > 0  # the orphans the shell left behind
    again = await import_path(db, samples_dir / ERD_R1, now=20.0)
    assert again.state == "imported"
    assert again.round_id is not None
    assert again.round_id > first.round_id
