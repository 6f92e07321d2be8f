"""Discord embed limits, enforced in one place: every embed we send passes through `fit_embed`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import discord

ELLIPSIS = "…"
MIN_DESCRIPTION = 200  # below this, trimming the description says too little: drop fields instead
FENCE = "```"


@dataclass(frozen=True, slots=True)
class EmbedLimits:
    """Discord's documented limits (characters; `total` counts every text part of the embed)."""

    total: int = 6000
    title: int = 256
    description: int = 4096
    fields: int = 25
    field_name: int = 256
    field_value: int = 1024
    footer: int = 2048
    author: int = 256


LIMITS = EmbedLimits()


def truncate(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with a visible `…`; a cut code block is closed again."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    cut = text[: limit - 1] + ELLIPSIS
    if text.count(FENCE) % 2 == 0 and cut.count(FENCE) % 2 == 1:
        closing = ELLIPSIS + "\n" + FENCE
        cut = text[: max(0, limit - len(closing))].rstrip() + closing
        if len(cut) > limit:  # too small to hold a closed block: plain text instead
            return text.replace(FENCE, "")[: limit - 1] + ELLIPSIS
    return cut


def embed_length(data: dict[str, Any]) -> int:
    """Discord's count: title, description, field names and values, footer text, author name."""
    total = len(data.get("title") or "") + len(data.get("description") or "")
    total += sum(len(f.get("name") or "") + len(f.get("value") or "") for f in data.get("fields") or [])
    total += len((data.get("footer") or {}).get("text") or "")
    total += len((data.get("author") or {}).get("name") or "")
    return total


def fit_embed(embed: discord.Embed, limits: EmbedLimits = LIMITS) -> discord.Embed:
    """A copy of `embed` within `limits`: parts truncated, extra fields summarised, total respected.

    Deterministic (same input, same output), so a retried post is identical. The footer is kept
    intact when at all possible: it carries the post's reconcile marker.
    """
    data: dict[str, Any] = dict(embed.to_dict())
    if "title" in data:
        data["title"] = truncate(data["title"], limits.title)
    if "description" in data:
        data["description"] = truncate(data["description"], limits.description)
    if "footer" in data and "text" in data["footer"]:
        data["footer"]["text"] = truncate(data["footer"]["text"], limits.footer)
    if "author" in data and "name" in data["author"]:
        data["author"]["name"] = truncate(data["author"]["name"], limits.author)
    fields = [
        {
            **f,
            "name": truncate(f.get("name") or "\u200b", limits.field_name) or ELLIPSIS,
            "value": truncate(f.get("value") or "\u200b", limits.field_value) or ELLIPSIS,
        }
        for f in data.get("fields") or []
    ]
    dropped = 0
    if len(fields) > limits.fields:
        dropped = len(fields) - (limits.fields - 1)
        fields = fields[: limits.fields - 1]
    data["fields"] = fields
    _shrink_to_total(data, limits, dropped)
    return discord.Embed.from_dict(data)


def _more_field(dropped: int) -> dict[str, Any]:
    return {"name": ELLIPSIS, "value": f"{dropped} more not shown", "inline": False}


def _shrink_to_total(data: dict[str, Any], limits: EmbedLimits, dropped: int) -> None:
    """Shorten a long description if that suffices, else drop trailing fields, then cut text parts."""
    fields: list[dict[str, Any]] = data["fields"]

    def over() -> int:
        note = embed_length({"fields": [_more_field(dropped)]}) if dropped else 0
        return embed_length(data) + note - limits.total

    description = data.get("description") or ""
    if 0 < over() <= len(description) - MIN_DESCRIPTION:
        data["description"] = truncate(description, len(description) - over())
    while over() > 0 and fields:
        fields.pop()
        dropped += 1
    if over() > 0 and data.get("description"):
        data["description"] = truncate(data["description"], max(0, len(data["description"]) - over()))
    if over() > 0 and data.get("title"):
        data["title"] = truncate(data["title"], max(1, len(data["title"]) - over()))
    if over() > 0 and (data.get("footer") or {}).get("text"):
        data["footer"]["text"] = truncate(
            data["footer"]["text"], max(1, len(data["footer"]["text"]) - over())
        )
    if dropped and len(fields) < limits.fields and over() <= 0:
        fields.append(_more_field(dropped))
    if not fields:
        data.pop("fields")
