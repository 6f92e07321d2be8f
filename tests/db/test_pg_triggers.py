"""The kept aggregates (triggers of 0007 players, 0009 player results, 0013 round bests) agree between
the engines.

The rows are real: the 62 sample files imported into SQLite by the project's importer, sessions derived.
The same plain statements are then played on a fresh SQLite database and a fresh PostgreSQL schema (both
made by their migrations): rounds inserted as pending round 2s then paired, player rows added one by one
and several per statement, a round re-derived (its rows deleted and inserted again), un-paired and
re-paired, its length changed, counted rounds deleted (cascade), map results added, removed and dropped
by a session losing its `derived` flag. After each step every aggregate table is compared row by row.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.db import session_teams
from bot.db.connection import Database
from bot.db.migrations_runner import apply_migrations
from bot.db.pg_migrations import apply_pg_migrations
from tests.helpers.store import import_path, stats_files

KEPT = {
    "players": "player_key",
    "player_aliases": "player_key, alias",
    "player_days": "day, player_key",
    "player_maps": "map, player_key",
    "player_weapons": "player_key, weapon",
    "map_totals": "map",
    "player_map_results": "session_id, seq, player_key",
    "player_results": "player_key",
    "player_day_results": "day, player_key",
    "round_bests": "round_id",
}
# round_bests as it must be: recomputed from the player rows left (every round with a human row).
ROUND_BESTS = (
    "SELECT p.round_id, r.map, max(p.kills) AS kills, max(CASE WHEN p.time_played_min >= 5 AND "
    "p.damage_given > 0 THEN CAST(p.damage_given AS REAL) / p.time_played_min END) AS dpm "
    "FROM player_stats p JOIN rounds r ON r.id = p.round_id WHERE p.guid != 'OMNIBOT0' "
    "GROUP BY p.round_id, r.map ORDER BY p.round_id"
)
Rows = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def source(samples_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Rows:
    """The rows the real import stored, per table, in id order."""

    async def run() -> Rows:
        async with await Database.open(tmp_path_factory.mktemp("src") / "db.sqlite") as db:
            for path in stats_files(samples_dir):
                await import_path(db, path)
            for row in await db.fetchall("SELECT id FROM sessions ORDER BY id"):
                await session_teams.derive(db, int(row[0]))
            order = {"sessions": "id", "rounds": "id", "player_stats": "round_id, player_key"}
            order |= {
                "weapon_stats": "round_id, player_key, weapon",
                "player_map_results": KEPT["player_map_results"],
            }
            return {
                t: [dict(r) for r in await db.fetchall(f"SELECT * FROM {t} ORDER BY {o}")]
                for t, o in order.items()
            }

    return asyncio.run(run())


class Engines:
    """One fresh SQLite database and one fresh PostgreSQL schema, given the same statements."""

    def __init__(self, lite: sqlite3.Connection, post: psycopg.Connection[Any]) -> None:
        self.lite, self.post = lite, post

    def run(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.lite.execute(sql, params)
        self.post.execute(sql.replace("?", "%s").encode(), params)

    def insert(self, table: str, rows: Sequence[dict[str, Any]], **override: Any) -> None:
        """One INSERT of all `rows` (a multi-row VALUES: PostgreSQL fires the row triggers after it)."""
        if not rows:
            return
        cols = list(rows[0])
        values = ", ".join("(" + ", ".join("?" for _ in cols) + ")" for _ in rows)
        params = [override.get(c, r[c]) for r in rows for c in cols]
        self.run(f"INSERT INTO {table} ({', '.join(cols)}) VALUES {values}", params)

    def snapshot(self) -> tuple[Rows, Rows]:
        return _kept(self.lite), _kept(self.post)


def _norm(value: Any) -> Any:
    return round(value, 6) if isinstance(value, float) else value


def _kept(conn: sqlite3.Connection | psycopg.Connection[Any]) -> Rows:
    out: Rows = {}
    for table, key in KEPT.items():
        cur = conn.execute(
            f"SELECT * FROM {table} ORDER BY {key}".encode()
            if isinstance(conn, psycopg.Connection)
            else f"SELECT * FROM {table} ORDER BY {key}"
        )
        names = [d[0] for d in cur.description or ()]
        out[table] = [{n: _norm(v) for n, v in zip(names, row, strict=True)} for row in cur.fetchall()]
    return out


@pytest.fixture
def engines(pg_conn: psycopg.Connection[Any]) -> Iterator[Engines]:
    lite = sqlite3.connect(":memory:", isolation_level=None)
    lite.execute("PRAGMA foreign_keys=ON")
    apply_migrations(lite)
    apply_pg_migrations(pg_conn)
    try:
        yield Engines(lite, pg_conn)
    finally:
        lite.close()


def _same(engines: Engines, step: str) -> Rows:
    lite, post = engines.snapshot()
    cur = engines.lite.execute(ROUND_BESTS)
    names = [d[0] for d in cur.description]
    derived = [{n: _norm(v) for n, v in zip(names, row, strict=True)} for row in cur.fetchall()]
    assert lite["round_bests"] == derived, f"{step}: round_bests differ from the player rows"
    for table in KEPT:
        assert len(lite[table]) == len(post[table]), f"{step}: {table} row counts"
        for a, b in zip(lite[table], post[table], strict=True):
            assert a == b, f"{step}: {table}"
    return lite


def test_kept_aggregates_agree_step_by_step(source: Rows, engines: Engines) -> None:
    rounds = source["rounds"]
    counted = [r for r in rounds if r["status"] in ("r1", "paired")]
    paired = [r for r in rounds if r["status"] == "paired"]
    assert len(rounds) >= 50, "the samples hold fewer rounds than this test assumes"
    assert len(paired) >= 15
    stats = {r["id"]: [p for p in source["player_stats"] if p["round_id"] == r["id"]] for r in rounds}
    weapons = {r["id"]: [w for w in source["weapon_stats"] if w["round_id"] == r["id"]] for r in rounds}
    seen: list[Rows] = []

    engines.insert("sessions", source["sessions"], derived=0)
    for i, r in enumerate(rounds):
        # Round 2s arrive before they are paired (not counted); paired_round_id may name a later round.
        engines.insert(
            "rounds",
            [r],
            status="pending_r1" if r["status"] == "paired" else r["status"],
            paired_round_id=None,
        )
        if i % 2:
            engines.insert("player_stats", stats[r["id"]])
            engines.insert("weapon_stats", weapons[r["id"]])
        else:
            for p in stats[r["id"]]:
                engines.insert("player_stats", [p])
            for w in weapons[r["id"]]:
                engines.insert("weapon_stats", [w])
    seen.append(_same(engines, "imported, round 2s pending"))

    for r in paired:
        engines.run(
            "UPDATE rounds SET status = 'paired', paired_round_id = ? WHERE id = ?",
            (r["paired_round_id"], r["id"]),
        )
    seen.append(_same(engines, "round 2s paired"))

    again = paired[len(paired) // 2]
    engines.run("DELETE FROM weapon_stats WHERE round_id = ?", (again["id"],))
    engines.run("DELETE FROM player_stats WHERE round_id = ?", (again["id"],))
    seen.append(_same(engines, "a round's rows deleted"))
    engines.insert("player_stats", stats[again["id"]])
    engines.insert("weapon_stats", weapons[again["id"]])
    seen.append(_same(engines, "a round re-derived"))

    newest = max(counted, key=lambda r: (r["played_at"], r["id"]))
    for status in ("orphan", "paired"):
        engines.run("UPDATE rounds SET status = ? WHERE id = ?", (status, paired[-1]["id"]))
        seen.append(_same(engines, f"a round 2 {status}"))
    engines.run("UPDATE rounds SET duration_s = coalesce(duration_s, 0) + 7 WHERE id = ?", (newest["id"],))
    seen.append(_same(engines, "a round's length changed"))

    oldest = min(counted, key=lambda r: (r["played_at"], r["id"]))
    for gone in (newest, oldest, paired[0]):
        engines.run("DELETE FROM rounds WHERE id = ?", (gone["id"],))
        seen.append(_same(engines, f"counted round {gone['id']} deleted"))
    one_map = oldest["map"]
    engines.run("DELETE FROM rounds WHERE map = ?", (one_map,))
    seen.append(_same(engines, f"every round of {one_map} deleted"))

    left = {int(r[0]) for r in engines.lite.execute("SELECT id FROM sessions")}
    results = [m for m in source["player_map_results"] if m["session_id"] in left]
    assert len(results) >= 50
    engines.run("UPDATE sessions SET derived = 1")
    for m in results[:10]:
        engines.insert("player_map_results", [m])
    engines.insert("player_map_results", results[10:])
    seen.append(_same(engines, "map results added"))
    sessions = sorted({m["session_id"] for m in results})
    engines.run("DELETE FROM player_map_results WHERE session_id = ? AND seq = 1", (sessions[0],))
    seen.append(_same(engines, "one map's results removed"))
    engines.run("UPDATE sessions SET derived = 0 WHERE id = ?", (sessions[-1],))
    seen.append(_same(engines, "a session no longer derived"))

    # Not vacuous: the aggregates were there, and every step changed them.
    assert all(
        seen[0][t] for t in ("players", "player_aliases", "player_days", "player_maps", "player_weapons")
    )
    assert seen[-3]["player_results"]
    assert seen[-3]["player_day_results"]
    for i, (before, after) in enumerate(itertools.pairwise(seen)):
        assert before != after, f"step {i + 1} changed nothing"


def test_aliases_fold_ascii_only_as_sqlite_does(source: Rows, engines: Engines) -> None:
    """SQLite's lower() folds ASCII only; PostgreSQL's folds 'É' under a UTF-8 locale (this cluster's
    C.UTF-8 too): the TEXT columns are COLLATE "C" so that both keep 'Élite ñandú' as the alias."""
    r = next(r for r in source["rounds"] if r["status"] == "r1")
    p = next(p for p in source["player_stats"] if p["round_id"] == r["id"])
    engines.insert("sessions", [s for s in source["sessions"] if s["id"] == r["session_id"]])
    engines.insert("rounds", [r], paired_round_id=None)
    engines.insert("player_stats", [p], name="^1ÉLITE Ñandú", clean_name="  ÉLITE Ñandú ")
    lite, post = engines.snapshot()
    assert [a["alias"] for a in lite["player_aliases"]] == ["Élite Ñandú"]
    assert post["player_aliases"] == lite["player_aliases"]
    assert post["players"] == lite["players"]
