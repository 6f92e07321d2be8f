"""A cog extension whose setup fails, to show one broken cog does not stop the others."""

from __future__ import annotations

from typing import Any


async def setup(bot: Any) -> None:
    raise RuntimeError("this cog is broken on purpose")
