"""Clan tags and team labels from player names (pure): `.oG.Gekku.` and `.oG.rAzzie.` play for `oG`."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

_DECORATION = " .-_:|/\\[](){}<>*#~=+'\"!?,;"


def team_label(player: str) -> str:
    """`Team olz` for a team without a shared tag, named by its best-known player (`.olz`)."""
    return f"Team {player.strip(_DECORATION) or player}"


def without_tag(name: str, tag: str) -> str:
    """A member's name with his team's tag taken off (`.oG.Gekku.` in team oG → `Gekku`)."""
    low = name.lower()
    bare = tag.strip(_DECORATION).lower()
    for t in (tag.lower(), *((bare,) if len(bare) >= 2 else ())):
        i = low.find(t)
        if i < 0:
            continue
        if not low[:i].strip(_DECORATION):
            return name[i + len(t) :].strip(_DECORATION) or name
        if not low[i + len(t) :].strip(_DECORATION):
            return name[:i].strip(_DECORATION) or name
    return name


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a.lower(), b.lower(), strict=False):
        if x != y:
            break
        n += 1
    return n


def _best_affix(names: Sequence[str], need: int) -> str | None:
    """The longest prefix shared (case-insensitively) by at least `need` of `names`."""
    best: str | None = None
    ordered = sorted(names, key=str.lower)
    for i in range(len(ordered) - need + 1):
        first, last = ordered[i], ordered[i + need - 1]
        n = _common_prefix(first, last)
        if n and (best is None or n > len(best)):
            # The spelling most members use (ripaZha vs ripazha).
            low = first[:n].lower()
            spellings = Counter(name[:n] for name in ordered if name[:n].lower() == low)
            best = spellings.most_common(1)[0][0]
    return best


def clan_tag(names: Sequence[str]) -> str | None:
    """The clan tag at least half (and two) of `names` share as prefix or suffix, tidied; else None.

    `.oG.Gekku.`, `.oG.rAzzie.` → `oG`; `fnx NO MERCY`, `konni NO MERCY` → `NO MERCY`.
    """
    if len(names) < 2:
        return None
    need = max(2, (len(names) + 1) // 2)
    found: list[str] = []
    prefix = _best_affix(names, need)
    if prefix is not None:
        found.append(_cut_at_word(prefix, suffix=False))
    suffix = _best_affix([n[::-1] for n in names], need)
    if suffix is not None:
        found.append(_cut_at_word(suffix[::-1], suffix=True))
    good = [_tidy(t) for t in found if _tag_ok(t)]
    return max(good, key=len) if good else None


def _tag_ok(raw: str) -> bool:
    """Three letters/digits, or a shorter mark set off by punctuation (`.oG.`, `///M.`)."""
    alnum = sum(c.isalnum() for c in raw)
    marked = any(not c.isalnum() and not c.isspace() for c in raw)
    return alnum >= 3 or (alnum >= 1 and marked and len(raw.strip()) >= 3)


def _cut_at_word(affix: str, *, suffix: bool) -> str:
    """Drop a trailing partial word: `Sm` shared by `Smetarski` and `Smith` is no tag."""
    if all(c.isalnum() for c in affix):
        return affix  # all letters: a tag only when long enough (`Maccabros`), see _tag_ok
    if suffix:
        m = re.match(r"[A-Za-z0-9]*", affix)
        return affix[m.end() :] if m else affix
    m = re.search(r"[A-Za-z0-9]*$", affix)
    return affix[: m.start()] if m else affix


def _tidy(tag: str) -> str:
    """`.oG.` → `oG`, `slomix.` → `slomix`; a one-letter mark keeps its punctuation (`///M.`)."""
    tidy = tag.strip(_DECORATION)
    return tidy if sum(c.isalnum() for c in tidy) >= 2 else tag.strip()
