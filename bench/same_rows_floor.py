"""The same-rows floor of bench/backfill.py: the import's own rows, read + split + int() + executemany.

No validation, no pairing, no dataclasses, but every row the import wrote (same tables, same row
counts per file, checked by the caller) into a fresh database made by the real migrations, with the
import's pragmas. Which rows belong to which file (pairs, sessions, posts, events) is read from the
import's database: the floor pairs nothing.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.db.migrations_runner import apply_migrations
from bot.stats.model import EXTRA_FIELDS_38, FLOAT_EXTRAS, WEAPON_SLOTS

SERVER = "bench"  # the server name bench/backfill.py imports under
EXTRAS = 38


TABLES = ("rounds", "player_stats", "weapon_stats", "processed_files", "file_events", "outbox", "sessions",
          "matches")  # fmt: skip


@dataclass(frozen=True, slots=True)
class FilePlan:
    """What the import's pairing and sessions decided for one file, read from its database afterwards."""

    status: str
    flags: str
    starts_session: bool
    match: tuple[str, str, int | None, int | None, int | None] | None  # round 1 file, outcome, winner, times
    posts: tuple[tuple[str, str, str, int], ...]  # kind, channel, dedupe_key, payload length
    events: tuple[tuple[str, int], ...]  # event, detail length


def import_plan(db_path: Path) -> dict[str, FilePlan]:
    """Per file name: its round's status and flags, whether it opened a session, its match, and the posts
    and events the import wrote for it."""
    conn = sqlite3.connect(db_path)
    rounds = conn.execute("SELECT filename, status, flags, session_id, played_at FROM rounds").fetchall()
    first: dict[int, tuple[str, str]] = {}  # session → its earliest (played_at, filename)
    for name, _, _, session, played in rounds:
        first[session] = min(first.get(session, (played, name)), (played, name))
    opens = {name for _, name in first.values()}
    matches = {
        r2: (r1, outcome, winner, t1, t2)
        for r2, r1, outcome, winner, t1, t2 in conn.execute(
            "SELECT b.filename, a.filename, m.outcome, m.winner_team, m.r1_time_s, m.r2_time_s "
            "FROM matches m JOIN rounds a ON a.id = m.r1_round_id JOIN rounds b ON b.id = m.r2_round_id"
        )
    }
    posts: dict[str, list[tuple[str, str, str, int]]] = {}
    for kind, channel, key, size in conn.execute(
        "SELECT kind, channel, dedupe_key, length(payload) FROM outbox ORDER BY id"
    ):
        # round:<server>:<file>[:…], match:<server>:<round 1>:<round 2>: a match comes with its round 2.
        posts.setdefault(key.split(":")[3 if kind == "match" else 2], []).append((kind, channel, key, size))
    events: dict[str, list[tuple[str, int]]] = {}
    for name, event, size in conn.execute(
        "SELECT filename, event, length(detail) FROM file_events ORDER BY id"
    ):
        events.setdefault(name, []).append((event, size))
    conn.close()
    names = {r[0] for r in rounds}
    stray = (set(posts) | set(events)) - names
    if stray:
        raise AssertionError(f"posts or events of no imported round: {sorted(stray)[:5]}")
    return {
        name: FilePlan(
            status,
            flags,
            name in opens,
            matches.get(name),
            tuple(posts.get(name, ())),
            tuple(events.get(name, ())),
        )
        for name, status, flags, _, _ in rounds
    }


_PLAYER_COLUMNS = ("round_id", "player_key", "guid", "name", "clean_name", "team", "rounds", "kills",
                   "deaths", "shots", "hits", "headshot_hits", *EXTRA_FIELDS_38, "flags")  # fmt: skip
_INSERT_PLAYER = (
    f"INSERT INTO player_stats({', '.join(_PLAYER_COLUMNS)}) VALUES ({', '.join('?' * len(_PLAYER_COLUMNS))})"
)
_INSERT_WEAPON = (
    "INSERT INTO weapon_stats(round_id, player_key, guid, weapon, hits, shots, kills, deaths, headshots) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ROUND = (
    "INSERT INTO rounds(server, filename, sha256, map, round_number, played_at, server_name, config, "
    "defender, winner, time_limit_raw, next_time_limit_raw, time_limit_s, next_time_limit_s, "
    "duration_ms, duration_s, extras_fields, player_count, status, flags, pairable, paired_round_id, "
    f"session_id, raw_content, imported_at) VALUES ({', '.join('?' * 25)})"
)
_INSERT_SESSION = (
    "INSERT INTO sessions(server, started_at, ended_at, round_count, last_import_at, closed) "
    "VALUES (?, ?, ?, 1, ?, 0)"
)
# Rows that need no id back: one executemany per table and batch (matches after both of their rounds).
_PER_BATCH = (
    "INSERT INTO processed_files(server, filename, size, mtime, sha256, state, first_seen_at, updated_at, "
    "round_id) VALUES (?, ?, ?, ?, ?, 'imported', ?, ?, ?)",
    "INSERT INTO file_events(server, filename, at, event, detail) VALUES (?, ?, ?, ?, ?)",
    "INSERT INTO outbox(kind, channel, dedupe_key, payload, nonce, created_at, next_attempt_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)",
    "INSERT INTO matches(server, map, r1_round_id, r2_round_id, outcome, winner_team, r1_time_s, "
    "r2_time_s, session_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "UPDATE rounds SET paired_round_id = ? WHERE id = ?",  # a round 1 points at its round 2, as imported
)
_CONVERT = [float if name in FLOAT_EXTRAS else int for name in EXTRA_FIELDS_38]
_FILL = "x" * 65536  # payload and event detail text: sliced to each row's length in the import


def _seconds(text: str) -> int | None:
    minutes, _, seconds = text.partition(":")
    return int(minutes) * 60 + int(seconds or 0) if minutes.isdigit() else None


def same_rows_floor(folder: Path, db_path: Path, plan: dict[str, FilePlan], per_commit: int) -> float:
    """Same-rows floor: read + split + int() + executemany of every row the import wrote, per file, into
    a database made by the real migrations, a commit every `per_commit` files. No validation, no pairing,
    no dataclasses: round status, session starts, matches, posts and events follow `plan`."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    apply_migrations(conn)
    # The import's connection pragmas (bot/db/connection.py): foreign keys are checked on every insert.
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000", "foreign_keys=ON"):
        conn.execute(f"PRAGMA {pragma}")
    paths = sorted(folder.iterdir())
    ids: dict[str, int] = {}
    session_id = 0
    started = time.perf_counter()
    for i, path in enumerate(paths):
        if i % per_commit == 0:
            conn.execute("BEGIN IMMEDIATE")
            now = time.time()
            batch: tuple[list[tuple[Any, ...]], ...] = ([], [], [], [], [])
            files, events, posts, matches, partners = batch
        name = path.name
        mtime = int(path.stat().st_mtime)
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        lines = data.decode("utf-8", "replace").split("\n")
        header = lines[0].split("\\")
        todo = plan[name]
        players, weapons, seen = [], [], set()
        extras_fields = None
        for n, line in enumerate(lines[1:], 2):
            if not line:
                continue
            guid, pname, rounds, team, rest = line.split("\\")
            key = guid if guid not in seen else f"{guid}#{n}"
            seen.add(key)
            block, _, extras = rest.partition("\t")
            nums = [int(v) for v in block.split()]
            mask, values = nums[0], nums[1:]
            slot, k = 0, 0
            while mask:
                if mask & 1:
                    weapons.append((key, guid, WEAPON_SLOTS[slot], *values[k : k + 5]))
                    k += 5
                mask >>= 1
                slot += 1
            raw = extras.split("\t") if extras else []
            extras_fields = len(raw) if raw else extras_fields
            xs = [f(v) for f, v in zip(_CONVERT, raw, strict=False)]
            players.append(
                (key, guid, pname, pname, int(team), int(rounds), sum(values[2::5]), sum(values[3::5]),
                 sum(values[1::5]), sum(values[0::5]), sum(values[4::5]), *xs,
                 *([None] * (EXTRAS - len(xs))), "")
            )  # fmt: skip
        played = f"{name[:10]} {name[11:13]}:{name[13:15]}:{name[15:17]}"
        if todo.starts_session:
            session_id = conn.execute(_INSERT_SESSION, (SERVER, played, played, now)).lastrowid or 0
        r1 = ids[todo.match[0]] if todo.match else None
        duration = int(header[8]) if len(header) > 8 else None
        rid = conn.execute(
            _INSERT_ROUND,
            (SERVER, name, sha, header[1], int(header[3]), played,
             header[0], header[2], int(header[4]), int(header[5]), header[6], header[7], _seconds(header[6]),
             _seconds(header[7]), duration, duration // 1000 if duration else None, extras_fields,
             len(players), todo.status, todo.flags, 1, r1, session_id, zlib.compress(data, 1), now),
        ).lastrowid or 0  # fmt: skip
        ids[name] = rid
        conn.executemany(_INSERT_PLAYER, [(rid, *p) for p in players])
        conn.executemany(_INSERT_WEAPON, [(rid, *w) for w in weapons])
        files.append((SERVER, name, len(data), mtime, sha, now, now, rid))
        events += [(SERVER, name, now, event, _FILL[:size]) for event, size in todo.events]
        posts += [(kind, ch, dedupe, _FILL[:size], secrets.token_urlsafe(18), now, now)
                  for kind, ch, dedupe, size in todo.posts]  # fmt: skip
        if todo.match and r1 is not None:
            _, outcome, winner, t1, t2 = todo.match
            matches.append((SERVER, header[1], r1, rid, outcome, winner, t1, t2, session_id, now))
            partners.append((rid, r1))
        if i % per_commit == per_commit - 1 or i == len(paths) - 1:
            for sql, rows in zip(_PER_BATCH, batch, strict=True):
                conn.executemany(sql, rows)
            conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def row_counts(db_path: Path) -> dict[str, object]:
    """Rows per table, and per file for the per-round tables: what the two runs must agree on."""
    conn = sqlite3.connect(db_path)
    out: dict[str, object] = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    for table in ("player_stats", "weapon_stats"):
        sql = f"SELECT r.filename, count(*) FROM {table} t JOIN rounds r ON r.id = t.round_id GROUP BY 1"
        out[f"{table} per file"] = dict(conn.execute(sql))
    for table in ("processed_files", "file_events"):
        out[f"{table} per file"] = dict(conn.execute(f"SELECT filename, count(*) FROM {table} GROUP BY 1"))
    conn.close()
    return out
