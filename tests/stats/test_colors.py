"""Colour-code stripping by the engine rule (§12 B20)."""

from __future__ import annotations

import pytest

from bot.stats.colors import strip_colors


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("^1vid", "vid"),
        ("^a#^7p^au^7rans^a.^7only", "#purans.only"),
        ("^D/^4/^?/^zM.^0Gekku", "///M.Gekku"),  # `^?` and `^/` are codes too (slomix left them)
        ("^1'^/fnx", "'fnx"),
        ("^^1a", "^a"),  # `^^` is not a code: the first caret stays, `^1` goes
        ("name^", "name^"),  # a trailing caret has nothing to colour
        ("a^ b", "a^ b"),  # space is not printable non-space
        ("a^\x7fb", "a^\x7fb"),
        ("a^éb", "ab"),  # any character >= 0x80 after a caret is a code
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_strip_colors(raw: str, clean: str) -> None:
    assert strip_colors(raw) == clean
