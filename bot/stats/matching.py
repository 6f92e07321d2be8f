"""Player-name matching for lookups and autocomplete (pure): normalise, rank, periods as days."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from bot.stats.colors import strip_colors

# How well a name matches what was typed: lower is better.
EXACT, PREFIX, WORD_PREFIX, SUBSTRING, SUBSEQUENCE = range(5)
NO_MATCH = 99

PERIOD_DAYS = {"today": 1, "week": 7, "month": 30}


def normalise(text: str) -> str:
    """The lookup key of a name: colour codes gone, outer spaces gone, lower case."""
    return strip_colors(text).strip().lower()


def match_rank(query: str, alias: str) -> int:
    """EXACT … SUBSEQUENCE for a normalised query against a normalised alias, NO_MATCH otherwise."""
    if not query:
        return PREFIX
    if alias == query:
        return EXACT
    if alias.startswith(query):
        return PREFIX
    position = alias.find(query)
    if position > 0:
        return WORD_PREFIX if not alias[position - 1].isalnum() else SUBSTRING
    return SUBSEQUENCE if is_subsequence(query, alias) else NO_MATCH


def is_subsequence(query: str, text: str) -> bool:
    """Every character of `query` appears in `text` in order ("vd" in "vid")."""
    it = iter(text)
    return all(ch in it for ch in query)


def subsequence_pattern(query: str) -> str:
    """A LIKE pattern (escape `\\`) matching texts that hold `query`'s characters in order."""
    return "%" + "%".join(like_escape(ch) for ch in query) + "%"


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def best_matches(
    query: str, candidates: Iterable[tuple[str, str, int]], limit: int, *, normalised: bool = False
) -> list[tuple[str, str, int]]:
    """(key, alias, rounds) candidates → the best alias per key, best match first, then most rounds.

    `normalised`: the aliases are lookup keys already (`player_aliases.alias`), no need to normalise.
    """
    best: dict[str, tuple[int, int, str]] = {}
    for key, alias, rounds in candidates:
        rank = match_rank(query, alias if normalised else normalise(alias))
        if rank == NO_MATCH:
            continue
        score = (rank, -rounds, alias)
        if key not in best or score < best[key]:
            best[key] = score
    ordered = sorted(best.items(), key=lambda kv: kv[1])
    return [(key, alias, -neg) for key, (_, neg, alias) in ordered[:limit]]


def period_start_day(period: str, today: dt.date) -> str | None:
    """The first day ('YYYY-MM-DD', server-local) a period covers (today, last 7/30 days); None: all."""
    days = PERIOD_DAYS.get(period)
    if days is None:
        return None
    return (today - dt.timedelta(days=days - 1)).isoformat()


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 round`, `2 rounds`, `1,204 rounds`."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def ranked(rows: Iterable[tuple[str, int, float]]) -> list[tuple[int, str, int, float]]:
    """(key, rounds, value) → (rank, key, rounds, value): value high first, then rounds, then key."""
    ordered = sorted(rows, key=lambda r: (-r[2], -r[1], r[0]))
    return [(i, key, rounds, value) for i, (key, rounds, value) in enumerate(ordered, 1)]
