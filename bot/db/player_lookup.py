"""Players by any name: lookup, autocomplete, aliases, who is linked to whom (index lookups only)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from bot.db.connection import SyncTx, as_async
from bot.db.reads import ReadConnection
from bot.stats.matching import best_matches, like_escape, normalise, subsequence_pattern

_PLAYER = "p.player_key, p.guid, p.clean_name, p.name, p.rounds, p.first_seen, p.last_seen, p.is_bot"
CANDIDATES = 100  # alias rows read per autocomplete pass at most (the most played first)
FUZZY_BELOW = 5  # letters-in-order matches are looked for when fewer players matched better
# Letters in order. Neither side holds an ASCII capital (`alias` is lower(trim(clean_name)), the pattern
# a normalise()d query) and both engines fold only ASCII here (COLLATE "C" on PostgreSQL), so a
# case-sensitive LIKE matches what SQLite's LIKE matches: LIKE /* lower-case */ stays LIKE on PostgreSQL
# (bot/db/dialect.py), where ILIKE folded the case of every alias it tested (~20x slower over them all).
IN_ORDER = "alias LIKE /* lower-case */ ? ESCAPE '\\'"
# Text inside a name (not at its start). The LIKE selects nothing more than instr() does; it is there for
# PostgreSQL's planner, which can estimate a LIKE pattern but takes any instr() as matching a third of
# the aliases, and so walked the rounds index with a table lookup per alias (~6 ms over all of them)
# where reading the table and sorting the few hits takes ~2 ms. SQLite tests instr() first and the
# LIKE only on its hits.
INSIDE = "instr(alias, ?) > 1 AND alias LIKE /* lower-case */ ? ESCAPE '\\'"
# Aliases most played first (index player_aliases_rounds), stopping at the LIMIT-th hit.
_WALK = (
    "SELECT player_key, alias, rounds FROM player_aliases INDEXED BY player_aliases_rounds "
    "WHERE {} ORDER BY rounds DESC LIMIT ?"
)


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

    Prefix matches come from an index range; substring and in-order ("fuzzy") matches walk the aliases
    most played first, only while fewer than `limit` players were found. Bots are left out.
    """
    query = normalise(text)
    if not query:
        rows = stx.fetchall(
            "SELECT player_key, clean_name, clean_name, rounds FROM players WHERE is_bot = 0 "
            "ORDER BY rounds DESC, player_key LIMIT ?",  # ties in a stated order, the same on every engine
            (limit,),
        )
        return [Suggestion(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]
    # Candidates come from the alias indexes alone (alias, rounds, key): no row lookups while scanning.
    # Bots are dropped here rather than in SQL (one comparison less per scanned entry).
    candidates = stx.fetchall(
        "SELECT player_key, alias, rounds FROM player_aliases INDEXED BY player_aliases_alias "
        "WHERE alias >= ? AND alias < ? ORDER BY rounds DESC LIMIT ?",
        (query, query + "\U0010ffff", CANDIDATES),
    )
    found = {str(r[0]) for r in candidates}
    if FUZZY_BELOW <= len(found) < limit:  # letters in order will not be needed: text inside only
        candidates += stx.fetchall(_WALK.format(INSIDE), (query, _inside(query), CANDIDATES))
    elif len(found) < limit:
        inside, in_order = _inside_and_in_order(stx, query)
        candidates += inside
        found |= {str(r[0]) for r in inside}
        if len(found) < FUZZY_BELOW:
            candidates += in_order
    candidates = [r for r in candidates if not str(r[0]).startswith("OMNIBOT0:")]
    best = best_matches(
        query, [(str(r[0]), str(r[1]), int(r[2])) for r in candidates], limit, normalised=True
    )
    shown = _shown_names(stx, [(key, alias) for key, alias, _ in best])
    return [
        Suggestion(key, shown.get(key, (alias, alias))[0], shown.get(key, (alias, alias))[1], rounds)
        for key, alias, rounds in best
    ]


def _inside_and_in_order(stx: SyncTx, query: str) -> tuple[list[sqlite3.Row], list[sqlite3.Row]]:
    """The most played aliases (at most CANDIDATES each) holding `query` inside (not at the start), and
    holding its letters in order ("fuzzy"), in one walk down the rounds index at most.

    A text inside a name holds its letters in order too, so the letters-in-order walk, which stops at
    its CANDIDATES-th hit, has seen every alias with the text inside down to where it stopped; the walk
    for the text inside only goes on from there, and not at all when the first one reached the end.
    """
    in_order = stx.fetchall(_WALK.format(IN_ORDER), (subsequence_pattern(query), CANDIDATES))
    inside = [r for r in in_order if str(r[1]).find(query) > 0]
    if len(in_order) < CANDIDATES or len(inside) >= CANDIDATES:
        return inside, in_order
    # Aliases as played as the last one seen may have been left out: the walk goes on from its level.
    seen = {(str(r[0]), str(r[1])) for r in in_order if r[2] == in_order[-1][2]}
    more = stx.fetchall(
        _WALK.format(f"rounds <= ? AND {INSIDE}"),
        (in_order[-1][2], query, _inside(query), CANDIDATES + len(seen)),
    )
    inside += [r for r in more if (str(r[0]), str(r[1])) not in seen]
    return inside[:CANDIDATES], in_order


def _inside(query: str) -> str:
    return f"%{like_escape(query)}%"


def _shown_names(stx: SyncTx, pairs: list[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """key -> (latest name, the matched alias as played) for the suggestions shown (<= 25 lookups)."""
    if not pairs:
        return {}
    # The list drives the join (CROSS JOIN keeps that order on SQLite): one key lookup per pair and
    # table. A VALUES list, not json_each(?): PostgreSQL guesses 100 rows for a JSON array and then
    # hashed the whole alias table (~4 ms at 13,608 aliases) instead of 25 key lookups (~0.5 ms).
    rows = stx.fetchall(
        "SELECT a.player_key, p.clean_name, a.clean_name FROM (VALUES "
        + ", ".join("(?, ?)" for _ in pairs)
        + ") v CROSS JOIN player_aliases a ON a.player_key = v.column1 AND a.alias = v.column2 "
        "JOIN players p ON p.player_key = a.player_key",
        [value for pair in pairs for value in pair],
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

aliases = as_async(aliases_sync)
linked_members = as_async(linked_members_sync)
linked_key = as_async(linked_key_sync)


async def search(reads: ReadConnection, text: str, *, limit: int = 25) -> list[Suggestion]:
    """search_sync for a keystroke: on the caller's thread (ReadConnection.call_here, ~1 ms), no hop."""
    return await reads.call_here(search_sync, text, limit=limit)
