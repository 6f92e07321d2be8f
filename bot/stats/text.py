"""Bytes to lines (STATS_FORMAT.md §4): ASCII fast path, per-field UTF-8 with Latin-1 fallback, CRLF."""

from __future__ import annotations


def decode(data: bytes) -> str:
    """The whole file as text. Invalid UTF-8 bytes survive as surrogates so `text_field` can recover them."""
    if data.isascii():
        return data.decode("ascii")
    return data.decode("utf-8", "surrogateescape")


def text_field(value: str) -> str:
    """A free-text field (name, server name): UTF-8 when the field's bytes are valid UTF-8, else Latin-1.

    Decided per field, so one player's Latin-1 name does not garble another's UTF-8 name, and no byte
    is ever dropped.
    """
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # carries surrogates from `decode`: the field was not valid UTF-8
        return value.encode("utf-8", "surrogateescape").decode("latin-1")
    return value


def split_lines(text: str) -> tuple[list[str], bool]:
    """Lines without terminators (a trailing `\\r` stripped), and whether the text ended with `\\n`."""
    complete = text.endswith("\n")
    if "\r" in text:
        lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    else:
        lines = text.split("\n")
    if complete:
        lines.pop()  # the empty string after the final newline
    return lines, complete
