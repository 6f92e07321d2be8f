"""SQLite and PostgreSQL give the same answers: the real samples imported into both through the real
importer, then every stored table and every player-facing read compared, value by value."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

from bot.db import player_boards, player_cards, player_lookup, records, session_teams
from bot.db.connection import Database
from bot.db.player_boards import METRICS
from bot.db.player_cards import Records
from bot.db.records import PlayerRecord
from tests.helpers.chat import import_samples

# Stored tables compared whole (ordered by their key); columns that hold wall-clock times or random
# values (nonces, instance ids) differ by design and are left out.
TABLES = {
    "rounds": "id, server, filename, sha256, map, round_number, played_at, status, paired_round_id, "
    "session_id",
    "player_stats": "round_id, guid, name, clean_name, team, kills, deaths, damage_given, time_played_min",
    "weapon_stats": "round_id, guid, weapon, kills, deaths, headshots, shots, hits",
    "matches": "id, server, map, r1_round_id, r2_round_id, outcome, winner_team, session_id",
    "sessions": "id, server, started_at, ended_at, round_count, closed",
    "players": "*",
    "player_aliases": "*",
    "player_days": "*",
    "player_maps": "*",
    "processed_files": "server, filename, size, state",
    "outbox": "id, kind, channel, dedupe_key, payload, state, subject, corrects",
}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (
            a is not None and b is not None and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
        )
    if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
        return _same(dataclasses.astuple(a), dataclasses.astuple(b))  # type: ignore[arg-type]
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def _untied(rec: Records) -> tuple[Any, ...]:
    """Records as compared across engines: all values, and who holds each one except the value tied at
    the cut (a "top 3" walks an index; which of several players tied on the third value is listed is the
    index's order, which differs between the engines and is not worth a sort on SQLite)."""

    def cut(lines: list[PlayerRecord]) -> tuple[Any, ...]:
        last = lines[-1].value if lines else None
        return tuple(r.value for r in lines), tuple(r for r in lines if r.value != last)

    return rec.map, cut(rec.kills), cut(rec.dpm), rec.fastest


async def _table(db: Database, table: str, columns: str) -> list[tuple[Any, ...]]:
    rows = await db.fetchall(f"SELECT {columns} FROM {table}")
    return sorted((tuple(r) for r in rows), key=repr)


async def _reads(db: Database) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for metric in METRICS:
        for since in (None, "2025-01-01"):
            out[f"board {metric} {since}"] = await player_boards.board(db, metric, since_day=since, limit=25)
    keys = [
        str(r[0])
        for r in await db.fetchall("SELECT player_key FROM players ORDER BY rounds DESC, player_key")
    ]
    for key in keys[:12]:
        ref = await player_lookup.get_player(db, key)
        assert ref is not None
        out[f"card {key}"] = await player_cards.card(db, ref)
        out[f"card {key} 2025"] = await player_cards.card(db, ref, since_day="2025-01-01")
    for text in ("olz", "super", "^1", "e", "zzz-nobody"):
        out[f"search {text}"] = await player_lookup.search(db.reads, text)
        out[f"find {text}"] = await player_lookup.find_player(db, text)
    maps = [str(r[0]) for r in await db.fetchall("SELECT DISTINCT map FROM rounds ORDER BY map")]
    for map_name in [None, *maps]:
        out[f"records {map_name}"] = _untied(await player_cards.records_view(db, map_name))
        out[f"maps {map_name}"] = await player_cards.maps_view(db, None, map_name)
    out["fastest"] = await records.fastest(db)
    for sid in [int(r[0]) for r in await db.fetchall("SELECT id FROM sessions ORDER BY id")]:
        out[f"teams {sid}"] = await session_teams.stored_teams(db, sid)
    return out


async def test_both_engines_store_and_answer_the_same(samples_dir: Path, tmp_path: Path, pg_url: str) -> None:
    async with (
        await Database.open(tmp_path / "statsbot.db") as lite,
        await Database.open(pg_url) as pg,
    ):
        assert await import_samples(lite, samples_dir) == await import_samples(pg, samples_dir) > 40
        for sid in [int(r[0]) for r in await lite.fetchall("SELECT id FROM sessions ORDER BY id")]:
            await session_teams.ensure_derived(lite, sid)
            await session_teams.ensure_derived(pg, sid)
        for table, columns in TABLES.items():
            expected = await _table(lite, table, columns)
            assert expected, table
            assert _same(await _table(pg, table, columns), expected), table
        lite_reads, pg_reads = await _reads(lite), await _reads(pg)
        assert lite_reads.keys() == pg_reads.keys()
        differ = [name for name in lite_reads if not _same(pg_reads[name], lite_reads[name])]
        for name in differ[:3]:
            print(name, "\nSQLite:", lite_reads[name], "\nPostgreSQL:", pg_reads[name])
        assert not differ, f"the engines answer differently: {differ[:10]}"
