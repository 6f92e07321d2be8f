"""The generated community of bench/chat_queries.py: thousands of players with coloured names and 1-4
aliases over ten years, 60 maps (and 3 played by one pair each), R1/R2 pairs, 3 weapons per player row,
a decided map per pair; into a SQLite file (cached by the bench) and from there, row for row, into a
PostgreSQL database."""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.db import pg_engine
from bot.db.migrations_runner import apply_migrations, version_of
from bot.db.pg_migrations import apply_pg_migrations

# The tables the generator fills (at the schema before the `players` migration) and their columns, in
# the order of its row tuples; the PostgreSQL copy reads exactly these back from the SQLite file.
RAW_TABLES = {  # in an order the foreign keys accept (rounds.session_id -> sessions)
    "sessions": "id, server, started_at, ended_at, round_count, last_import_at, closed, derived",
    "rounds": "id, server, filename, sha256, map, round_number, played_at, server_name, config, defender, "
    "winner, time_limit_raw, next_time_limit_raw, time_limit_s, next_time_limit_s, duration_s, player_count, "
    "status, paired_round_id, raw_content, imported_at, session_id",
    "player_stats": "round_id, player_key, guid, name, clean_name, team, rounds, kills, deaths, shots, hits, "
    "headshot_hits, damage_given, damage_received, gibs, revives_given, times_revived, headshot_kills, xp, "
    "time_played_min, objectives_stolen, multikill_3, kill_assists, team_kills, self_kills, flags",
    "weapon_stats": "round_id, player_key, guid, weapon, hits, shots, kills, deaths, headshots",
    "session_maps": "session_id, seq, map, r1_round_id, r2_round_id, result, winner, lineups",
    "member_links": "discord_user_id, guid, linked_at",
}

SYLLABLES = [
    "ka",
    "zu",
    "mi",
    "ro",
    "ta",
    "vid",
    "olz",
    "end",
    "ekk",
    "sup",
    "er",
    "boy",
    "nex",
    "ra",
    "fi",
    "lo",
    "ma",
    "tri",
    "xo",
    "qu",
    "an",
    "el",
    "dr",
    "ag",
    "on",
]
TAGS = ["", "", "", "[FTW]", "slomix.", "ripaZha ", "///M.", ".oG.", "(HBC)", "Maccabros", "=DK=", "|TP|"]
RARE_MAPS = 3
WEAPONS = ["mp40", "thompson", "grenade", "colt", "luger", "panzerfaust", "k43", "garand", "fg42", "knife"]


def _name(rng: random.Random) -> str:
    core = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 3)))
    core = core.capitalize() if rng.random() < 0.4 else core
    return rng.choice(TAGS) + core + (str(rng.randint(1, 99)) if rng.random() < 0.15 else "")


def _coloured(rng: random.Random, name: str) -> str:
    if rng.random() < 0.5:
        return name
    cut = rng.randint(0, len(name))
    return f"^{rng.choice('1234567')}{name[:cut]}^7{name[cut:]}"


def generate(path: Path, rows: int, seed: int = 12) -> dict[str, float]:
    """Fill a database at the schema before `players` with `rows` player rows; migrate; return timings."""
    rng = random.Random(seed)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    apply_migrations(conn, upto=version_of("players") - 1)
    started = time.perf_counter()
    n_players = max(50, rows // 160)
    players = []
    for i in range(n_players):
        guid = hashlib.md5(f"p{i}".encode()).hexdigest()[:8].upper()
        aliases = [_name(rng) for _ in range(rng.choice((1, 1, 2, 2, 3, 4)))]
        players.append((guid, [(_coloured(rng, a), a) for a in aliases]))
    weights = [1.0 / (i + 8) ** 0.9 for i in range(n_players)]
    cum = list(_accumulate(weights))
    maps = [
        f"{rng.choice(['etl_', 'sw_', '', 'te_'])}{rng.choice(SYLLABLES)}{rng.choice(SYLLABLES)}{k}"
        for k in range(60)
    ]
    map_weights = list(_accumulate([1.0 / (k + 2) for k in range(60)]))
    start = 1_451_606_400  # 2016-01-01
    span = 10 * 365 * 86400
    per_round = 12
    n_matches = rows // 23 + 1  # ~11.9 distinct players a round: a little more than needed
    # Three maps played by one pair each, over the ten years: what /records map:X meets for a rare map.
    rare_at = {n_matches * (k + 1) // 4: f"rare_{rng.choice(SYLLABLES)}{k}" for k in range(RARE_MAPS)}
    round_rows, player_rows, weapon_rows, session_rows, map_rows = [], [], [], [], []
    rid = 0
    for m in range(n_matches):
        t = start + int(span * m / n_matches)
        frac = m / n_matches
        map_name = rng.choices(maps, cum_weights=map_weights)[0]
        map_name = rare_at.get(m, map_name)
        chosen = {rng.choices(range(n_players), cum_weights=cum)[0] for _ in range(per_round)}
        r1_time = rng.randint(90, 1200)
        # One derived session per pair (its two rounds belong to it), one decided map: its two lineups
        # (1 in 20 a draw) feed the W/L records that migration 0009 backfills (player_map_results,
        # player_results, player_day_results).
        order = sorted(players[i][0] for i in chosen)
        lineups = json.dumps({"1": order[::2], "2": order[1::2]})
        draw = rng.random() < 0.05
        started_at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))
        session_rows.append((m + 1, "main", started_at, started_at, 2, float(t), 1, 1))
        map_rows.append((m + 1, 1, map_name, rid + 1, rid + 2, "draw" if draw else "win",
                         None if draw else rng.randint(1, 2), lineups))  # fmt: skip
        for rnd in (1, 2):
            rid += 1
            played = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t + (rnd - 1) * (r1_time + 60)))
            filename = f"{played[:10]}-{played[11:].replace(':', '')}-{map_name}-round-{rnd}.txt"
            defender = rng.randint(1, 2)
            winner = rng.randint(1, 2)
            round_rows.append((
                rid, "main", filename, f"{rid:064x}", map_name, rnd, played, "srv", "cfg", defender, winner,
                "10:00", "10:00", 600, 600, rng.randint(60, 1200), len(chosen),
                "r1" if rnd == 1 else "paired",
                rid + 1 if rnd == 1 else rid - 1, b"", float(t), m + 1,
            ))  # fmt: skip
            for idx in chosen:
                guid, names = players[idx]
                coloured, clean = names[min(len(names) - 1, int(frac * len(names) * rng.uniform(0.8, 1.2)))]
                kills, deaths = rng.randint(0, 40), rng.randint(0, 35)
                minutes = round(rng.uniform(1, 20), 1)
                damage = kills * rng.randint(80, 200)
                shots = rng.randint(50, 900)
                player_rows.append((
                    rid, guid, guid, coloured, clean, rng.randint(1, 2), 1, kills, deaths, shots,
                    rng.randint(0, shots), rng.randint(0, 30), damage, deaths * rng.randint(80, 200),
                    rng.randint(0, kills), rng.randint(0, 10), rng.randint(0, 8),
                    rng.randint(0, kills // 3 + 1),
                    rng.randint(0, 200), minutes, rng.randint(0, 2), rng.randint(0, 2), rng.randint(0, 5),
                    rng.randint(0, 1), rng.randint(0, 3), "",
                ))  # fmt: skip
                for w in rng.sample(WEAPONS, 3):
                    s = rng.randint(0, 300)
                    weapon_rows.append((rid, guid, guid, w, rng.randint(0, s), s, rng.randint(0, 15),
                                        rng.randint(0, 12), rng.randint(0, 5)))  # fmt: skip
        if len(player_rows) >= rows:  # after both rounds: no round 1 points at a round 2 never made
            break
    made = time.perf_counter() - started
    started = time.perf_counter()
    conn.execute("BEGIN")
    links = rng.sample(range(n_players), min(500, n_players))
    link_rows = [(10_000 + i, players[idx][0], 0) for i, idx in enumerate(links)]
    made_rows: tuple[Sequence[Sequence[Any]], ...] = (
        session_rows,
        round_rows,
        player_rows,
        weapon_rows,
        map_rows,
        link_rows,
    )
    for (table, columns), rows_ in zip(RAW_TABLES.items(), made_rows, strict=True):
        marks = ", ".join("?" * len(columns.split(", ")))
        conn.executemany(f"INSERT INTO {table}({columns}) VALUES ({marks})", rows_)
    conn.execute("COMMIT")
    inserted = time.perf_counter() - started
    started = time.perf_counter()
    apply_migrations(conn)
    conn.execute("ANALYZE")
    migrated = time.perf_counter() - started
    conn.close()
    return {"rows": len(player_rows), "weapon_rows": len(weapon_rows), "rounds": len(round_rows),
            "players": n_players, "make_s": made, "insert_s": inserted, "migrate_s": migrated}  # fmt: skip


def _accumulate(values: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for v in values:
        total += v
        out.append(total)
    return out


def copy_to_postgresql(path: Path, url: str) -> dict[str, float]:
    """The generated rows of the SQLite file `path` into the empty PostgreSQL database `url`, the same
    way: COPY into the schema before the `players` migration, then the remaining PostgreSQL migrations
    (which build the kept aggregates from them), then ANALYZE. Returns the timings."""
    conn = pg_engine.connect(url)
    try:
        pg_engine.apply_compat(conn)
        apply_pg_migrations(conn, upto=version_of("players") - 1)
        started = time.perf_counter()
        src = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        with conn.transaction():
            for table, columns in RAW_TABLES.items():
                with conn.cursor().copy(f"COPY {table} ({columns}) FROM STDIN".encode()) as copy:
                    for row in src.execute(f"SELECT {columns} FROM {table}"):
                        copy.write_row(row)
        src.close()
        copied = time.perf_counter() - started
        started = time.perf_counter()
        apply_pg_migrations(conn)
        conn.execute(b"ANALYZE")
        migrated = time.perf_counter() - started
    finally:
        conn.close()
    return {"copy_s": copied, "migrate_s": migrated}


def migrate_pending(url: str) -> float:
    """Apply the PostgreSQL migrations a kept copy lacks, then ANALYZE; the seconds both took."""
    conn = pg_engine.connect(url)
    try:
        started = time.perf_counter()
        apply_pg_migrations(conn)
        conn.execute(b"ANALYZE")
        return time.perf_counter() - started
    finally:
        conn.close()


KEPT = ("players", "player_aliases", "player_days", "player_maps", "player_weapons", "map_totals",
        "player_map_results", "player_results", "round_bests")  # fmt: skip


def kept_counts_differ(path: Path, url: str) -> dict[str, tuple[int, int]]:
    """The kept aggregate tables whose row counts differ between the SQLite file and PostgreSQL (both
    built by their own migrations from the same rows): {table: (sqlite, postgresql)}, empty when equal."""
    src = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    conn = pg_engine.connect(url, read_only=True)
    try:
        differ = {}
        for table in KEPT:
            here = int(src.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            row = conn.execute(f"SELECT count(*) FROM {table}".encode()).fetchone()
            there = int(row[0]) if row is not None else -1
            if here != there:
                differ[table] = (here, there)
        return differ
    finally:
        src.close()
        conn.close()
