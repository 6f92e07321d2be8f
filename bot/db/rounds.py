"""Round SQL: rounds (players via bot.db.players), the pairing neighbourhood, matches."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.db.connection import SyncTx, as_async
from bot.db.players import (  # re-exported: callers use rounds.* for round data
    PlayerRows,
    insert_player_rows_sync,
    insert_players,
    insert_players_sync,
    join_flags,
    player_values,
    replace_player_rows_sync,
    replace_players,
    replace_players_sync,
    weapon_values,
)
from bot.db.rows import PLAYED_AT_FORMAT, RoundValues, compress_raw, played_at_text, round_values
from bot.stats.version import PARSER_VERSION

_ROUND_COLUMNS = (
    "id, server, filename, sha256, map, round_number, played_at, time_limit_raw, next_time_limit_raw, "
    "status, paired_round_id, session_id, pairable, flags"
)


def parse_played_at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)  # the PLAYED_AT_FORMAT text is ISO 8601 (space separator)


@dataclass(frozen=True, slots=True)
class RoundRow:
    """What pairing and re-derivation need of a stored round."""

    id: int
    server: str
    filename: str
    sha256: str
    map: str
    round_number: int
    played_at: str
    time_limit_raw: str
    next_time_limit_raw: str
    status: str
    paired_round_id: int | None
    session_id: int | None
    pairable: bool
    flags: str

    @property
    def flag_set(self) -> frozenset[str]:
        return frozenset(f for f in self.flags.split(",") if f)


def _round_row(r: sqlite3.Row) -> RoundRow:
    values = list(r)
    values[12] = bool(values[12])
    return RoundRow(*values)


_INSERT_ROUND = (
    "INSERT INTO rounds(server, filename, sha256, map, round_number, played_at, server_name, config, "
    "defender, winner, time_limit_raw, next_time_limit_raw, time_limit_s, next_time_limit_s, "
    "duration_ms, duration_s, extras_fields, player_count, status, flags, pairable, session_id, "
    f"raw_content, imported_at, parser_version) VALUES ({', '.join('?' * 25)})"
)


def insert_round_sync(
    stx: SyncTx,
    *,
    server: str,
    values: RoundValues,
    players: PlayerRows,
    sha256: str,
    raw_compressed: bytes,
    status: str,
    duration_s: int | None,
    pairable: bool,
    session_id: int | None,
    now: float,
) -> int:
    """Insert a round (raw bytes given zlib-compressed: `compress_raw`) with its players; returns its id."""
    v = values
    round_id = stx.insert_id(
        _INSERT_ROUND,
        (
            server, v.filename, sha256, v.map, v.round_number, v.played_at, *v.header, duration_s,
            v.extras_fields, len(players), status, v.flags, int(pairable), session_id, raw_compressed, now,
            PARSER_VERSION,
        ),
    )  # fmt: skip
    insert_player_rows_sync(stx, round_id, players)
    return round_id


def update_round_sync(
    stx: SyncTx,
    round_id: int,
    *,
    status: str,
    paired_round_id: int | None,
    duration_s: int | None,
    flags: Iterable[str],
    player_count: int,
) -> None:
    """Store a round's new pairing state (after re-derivation or un-pairing)."""
    stx.execute(
        "UPDATE rounds SET status = ?, paired_round_id = ?, duration_s = ?, flags = ?, player_count = ? "
        "WHERE id = ?",
        (status, paired_round_id, duration_s, join_flags(flags), player_count, round_id),
    )


def set_partner_sync(stx: SyncTx, round_id: int, paired_round_id: int | None) -> None:
    """Point a round 1 at its round 2 (or at nothing)."""
    stx.execute("UPDATE rounds SET paired_round_id = ? WHERE id = ?", (paired_round_id, round_id))


def clear_partner_sync(stx: SyncTx, round1_id: int, round2_id: int) -> None:
    """Detach a round 1 from `round2_id` (only if it still points there)."""
    stx.execute(
        "UPDATE rounds SET paired_round_id = NULL WHERE id = ? AND paired_round_id = ?",
        (round1_id, round2_id),
    )


def pairing_range_sync(stx: SyncTx, server: str, played_at: str, filename: str) -> list[RoundRow]:
    """The rounds whose pairing can change when (played_at, filename) arrives, chronologically.

    That is from the last round 1 strictly before it (a round 1 resets pairing: whatever came before
    cannot pair across it) up to, not including, the first round 1 after it.
    """
    key = {"s": server, "p": played_at, "f": filename}
    lo = stx.fetchone(
        "SELECT played_at, filename FROM rounds WHERE server = :s AND round_number = 1 "
        "AND (played_at, filename) < (:p, :f) ORDER BY played_at DESC, filename DESC LIMIT 1",
        key,
    )
    hi = stx.fetchone(
        "SELECT played_at, filename FROM rounds WHERE server = :s AND round_number = 1 "
        "AND (played_at, filename) > (:p, :f) ORDER BY played_at, filename LIMIT 1",
        key,
    )
    # Without a bound on a side, the range is open there ("" sorts before and "\uffff" after any time).
    bounds = {
        "s": server,
        "lp": lo[0] if lo else "",
        "lf": lo[1] if lo else "",
        "hp": hi[0] if hi else "\uffff",
        "hf": hi[1] if hi else "",
    }
    rows = stx.fetchall(
        f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE server = :s "
        "AND (played_at, filename) >= (:lp, :lf) AND (played_at, filename) < (:hp, :hf) "
        "ORDER BY played_at, filename",
        bounds,
    )
    return [_round_row(r) for r in rows]


def pending_round2_sync(stx: SyncTx, server: str) -> list[RoundRow]:
    """Round 2s of `server` still waiting for their round 1."""
    rows = stx.fetchall(
        f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE server = ? AND status = 'pending_r1' "
        "ORDER BY played_at, filename",
        (server,),
    )
    return [_round_row(r) for r in rows]


def stale_pending_round2_sync(stx: SyncTx, *, imported_before: float) -> list[RoundRow]:
    """Round 2s of any server still waiting for their round 1, imported before the cut-off (epoch)."""
    rows = stx.fetchall(
        f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE status = 'pending_r1' AND imported_at < ? "
        "ORDER BY server, played_at, filename",
        (imported_before,),
    )
    return [_round_row(r) for r in rows]


def latest_round1_at_sync(stx: SyncTx, server: str) -> str | None:
    """played_at of the server's newest round 1."""
    r = stx.fetchone("SELECT max(played_at) FROM rounds WHERE server = ? AND round_number = 1", (server,))
    return None if r is None else r[0]


def newest_played_at_sync(stx: SyncTx, server: str) -> str | None:
    """played_at of the server's newest round."""
    r = stx.fetchone("SELECT max(played_at) FROM rounds WHERE server = ?", (server,))
    return None if r is None else r[0]


def get_round_sync(stx: SyncTx, round_id: int) -> RoundRow | None:
    r = stx.fetchone(f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE id = ?", (round_id,))
    return None if r is None else _round_row(r)


def get_round_by_file_sync(stx: SyncTx, server: str, filename: str) -> RoundRow | None:
    r = stx.fetchone(
        f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE server = ? AND filename = ?", (server, filename)
    )
    return None if r is None else _round_row(r)


def rounds_by_files_sync(stx: SyncTx, server: str, filenames: Sequence[str]) -> dict[str, RoundRow]:
    """get_round_by_file for many files of one server in ONE query (found ones only)."""
    if not filenames:
        return {}
    rows = stx.fetchall(
        f"SELECT {_ROUND_COLUMNS} FROM rounds WHERE server = ? "
        "AND filename IN (SELECT value FROM json_each(?))",
        (server, json.dumps(list(filenames))),
    )
    return {row.filename: row for row in map(_round_row, rows)}


def raw_content_sync(stx: SyncTx, round_id: int) -> bytes:
    """The file bytes a round was imported from (for re-derivation and reprocess)."""
    r = stx.fetchone("SELECT raw_content FROM rounds WHERE id = ?", (round_id,))
    if r is None:
        raise KeyError(round_id)
    return zlib.decompress(r[0])


def insert_match_sync(
    stx: SyncTx,
    *,
    server: str,
    map_name: str,
    r1_round_id: int,
    r2_round_id: int,
    outcome: str,
    winner_team: int | None,
    r1_time_s: int | None,
    r2_time_s: int | None,
    session_id: int | None,
    now: float,
) -> int:
    """Record an R1+R2 pair and its outcome; returns the match id."""
    return stx.insert_id(
        "INSERT INTO matches(server, map, r1_round_id, r2_round_id, outcome, winner_team, r1_time_s, "
        "r2_time_s, session_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (server, map_name, r1_round_id, r2_round_id, outcome, winner_team, r1_time_s, r2_time_s,
         session_id, now),
    )  # fmt: skip


def delete_match_of_sync(stx: SyncTx, round_id: int) -> None:
    """Forget the match a round belonged to (its pair changed)."""
    stx.execute("DELETE FROM matches WHERE r1_round_id = ? OR r2_round_id = ?", (round_id, round_id))


# Awaitable twins: `await rounds.get_round(db_or_tx, ...)` runs the helper on the database thread.
insert_round = as_async(insert_round_sync)
update_round = as_async(update_round_sync)
set_partner = as_async(set_partner_sync)
clear_partner = as_async(clear_partner_sync)
pairing_range = as_async(pairing_range_sync)
pending_round2 = as_async(pending_round2_sync)
stale_pending_round2 = as_async(stale_pending_round2_sync)
latest_round1_at = as_async(latest_round1_at_sync)
newest_played_at = as_async(newest_played_at_sync)
get_round = as_async(get_round_sync)
get_round_by_file = as_async(get_round_by_file_sync)
raw_content = as_async(raw_content_sync)
insert_match = as_async(insert_match_sync)
delete_match_of = as_async(delete_match_of_sync)

__all__ = [
    "PLAYED_AT_FORMAT",
    "PlayerRows",
    "RoundValues",
    "compress_raw",
    "insert_player_rows_sync",
    "insert_players",
    "insert_players_sync",
    "join_flags",
    "played_at_text",
    "player_values",
    "replace_player_rows_sync",
    "replace_players",
    "replace_players_sync",
    "round_values",
    "weapon_values",
]
