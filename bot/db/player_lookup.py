"""Players by any name: lookup, autocomplete, aliases, who is linked to whom (index lookups only)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass

from bot.db.connection import SyncTx, as_async
from bot.stats.matching import best_matches, normalise, subsequence_pattern

_PLAYER = "p.player_key, p.guid, p.clean_name, p.name, p.rounds, p.first_seen, p.last_seen, p.is_bot"
CANDIDATES = 100  # alias rows read per autocomplete pass at most (the most played first)
FUZZY_BELOW = 5  # letters-in-order matches are looked for when fewer players matched better


@dataclass(frozen=True, slots=True)
class PlayerRef:
    key: str  # player key: the GUID (or 'OMNIBOT0:<name>' for a bot)
    guid: str
    name: str  # latest name without colour codes
    coloured: str  # latest name as played
    rounds: int
    first_seen: str
    last_seen: str
    is_bot: bool


@dataclass(frozen=True, slots=True)
class Alias:
    name: str
    rounds: int
    first_seen: str
    last_seen: str


@dataclass(frozen=True, slots=True)
class Suggestion:
    key: str
    name: str  # the player's latest name
    alias: str  # the name that matched (may be an old one)
    rounds: int


def _ref(r: sqlite3.Row) -> PlayerRef:
    return PlayerRef(str(r[0]), str(r[1]), str(r[2]), str(r[3]), int(r[4]), str(r[5]), str(r[6]), bool(r[7]))


def get_player_sync(stx: SyncTx, key: str) -> PlayerRef | None:
    r = stx.fetchone(f"SELECT {_PLAYER} FROM players p WHERE p.player_key = ?", (key,))
    return None if r is None else _ref(r)


def find_player_sync(stx: SyncTx, text: str) -> PlayerRef | None:
    """A player by key/GUID, else by any name they ever played under (case and colour codes ignored).

    A name several players used goes to the one who played most rounds under it (humans before bots).
    """
    text = text.strip()
    for key in (text, text.upper()):
        found = get_player_sync(stx, key)
        if found is not None:
            return found
    alias = normalise(text)
    if not alias:
        return None
    r = stx.fetchone(
        f"SELECT {_PLAYER} FROM player_aliases a JOIN players p ON p.player_key = a.player_key "
        "WHERE a.alias = ? ORDER BY p.is_bot, a.rounds DESC, p.rounds DESC LIMIT 1",
        (alias,),
    )
    return None if r is None else _ref(r)


def search_sync(stx: SyncTx, text: str, *, limit: int = 25) -> list[Suggestion]:
    """Autocomplete: players whose names (any alias) start with, contain, or hold in order what was typed.

    Prefix matches come from an index range; substring and in-order ("fuzzy") matches scan the alias
    index only while fewer than `limit` players were found. Bots are left out.
    """
    query = normalise(text)
    if not query:
        rows = stx.fetchall(
            "SELECT player_key, clean_name, clean_name, rounds FROM players WHERE is_bot = 0 "
            "ORDER BY rounds DESC LIMIT ?",
            (limit,),
        )
        return [Suggestion(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]
    # Candidates come from the alias index alone (alias, rounds, key): no row lookups while scanning.
    # Bots are dropped here rather than in SQL (one comparison less per scanned entry).
    candidates = stx.fetchall(
        "SELECT player_key, alias, rounds FROM player_aliases INDEXED BY player_aliases_alias "
        "WHERE alias >= ? AND alias < ? ORDER BY rounds DESC LIMIT ?",
        (query, query + "\U0010ffff", CANDIDATES),
    )
    found = {str(r[0]) for r in candidates}
    # Each pass scans the alias index: text inside a name (instr: cheaper than LIKE, and the aliases
    # are lower case already) while the list is not full; letters in order ("fuzzy") only when fewer
    # than FUZZY_BELOW players matched better.
    passes = (
        ("instr(alias, ?) > 1", query, limit),
        ("alias LIKE ? ESCAPE '\\'", subsequence_pattern(query), FUZZY_BELOW),
    )
    for condition, value, enough in passes:
        if len(found) >= enough:
            break
        more = stx.fetchall(
            "SELECT player_key, alias, rounds FROM player_aliases INDEXED BY player_aliases_alias "
            f"WHERE {condition} ORDER BY rounds DESC LIMIT ?",
            (value, CANDIDATES),
        )
        candidates += more
        found |= {str(r[0]) for r in more}
    candidates = [r for r in candidates if not str(r[0]).startswith("OMNIBOT0:")]
    best = best_matches(
        query, [(str(r[0]), str(r[1]), int(r[2])) for r in candidates], limit, normalised=True
    )
    shown = _shown_names(stx, [(key, alias) for key, alias, _ in best])
    return [
        Suggestion(key, shown.get(key, (alias, alias))[0], shown.get(key, (alias, alias))[1], rounds)
        for key, alias, rounds in best
    ]


def _shown_names(stx: SyncTx, pairs: list[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """key -> (latest name, the matched alias as played) for the suggestions shown (<= 25 lookups)."""
    if not pairs:
        return {}
    rows = stx.fetchall(
        "SELECT a.player_key, p.clean_name, a.clean_name FROM player_aliases a "
        "JOIN players p ON p.player_key = a.player_key "
        "WHERE (a.player_key, a.alias) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))",
        (json.dumps(pairs),),
    )
    return {str(r[0]): (str(r[1]), str(r[2])) for r in rows}


def aliases_sync(stx: SyncTx, key: str, *, limit: int = 10) -> list[Alias]:
    """A player's names, most played first."""
    rows = stx.fetchall(
        "SELECT clean_name, rounds, first_seen, last_seen FROM player_aliases WHERE player_key = ? "
        "ORDER BY rounds DESC, last_seen DESC LIMIT ?",
        (key, limit),
    )
    return [Alias(str(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in rows]


def linked_members_sync(stx: SyncTx, guid: str) -> list[int]:
    """Discord members linked to this player (normally one)."""
    rows = stx.fetchall("SELECT discord_user_id FROM member_links WHERE guid = ? ORDER BY linked_at", (guid,))
    return [int(r[0]) for r in rows]


def linked_key_sync(stx: SyncTx, discord_user_id: int) -> str | None:
    r = stx.fetchone("SELECT guid FROM member_links WHERE discord_user_id = ?", (discord_user_id,))
    return None if r is None else str(r[0])


get_player = as_async(get_player_sync)
find_player = as_async(find_player_sync)
search = as_async(search_sync)
aliases = as_async(aliases_sync)
linked_members = as_async(linked_members_sync)
linked_key = as_async(linked_key_sync)
