"""The checksum of a table, computed the same way on SQLite and on PostgreSQL (`statsbot db migrate`
verifies every table with it, the logical backup too): rows read in primary-key order (bot/db/table_copy.py
read_chunk; TEXT keys compare bytewise on both: BINARY and COLLATE "C"), each value canonically encoded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from bot.db.table_copy import TableShape, read_chunk
from bot.db.tx import SyncTx


def _encode(value: Any, kind: str) -> str:
    if value is None:
        return "N"
    if kind == "float" and isinstance(value, int):
        value = float(value)  # an integral value in a REAL column
    if isinstance(value, int):
        return f"i{value}"
    if isinstance(value, float):
        return f"f{value!r}"
    if isinstance(value, bytes | bytearray | memoryview):
        return "x" + bytes(value).hex()
    text = str(value)
    return f"s{len(text)}:{text}"


def rows_digest(rows: Iterator[tuple[Any, ...]], kinds: Sequence[str]) -> tuple[int, str]:
    """(row count, sha256) of rows in key order, each value canonically encoded (floats by repr,
    bytes as hex, None as N): the same figure on both engines for the same data."""
    digest = hashlib.sha256()
    n = 0
    for row in rows:
        n += 1
        digest.update("\x1f".join(_encode(v, k) for v, k in zip(row, kinds, strict=True)).encode())
        digest.update(b"\x1e")
    return n, digest.hexdigest()


def table_digest(stx: SyncTx, shape: TableShape, chunk: int = 5000) -> tuple[int, str]:
    """The checksum of one table, read in key-order chunks (never the whole table in memory)."""

    def rows() -> Iterator[tuple[Any, ...]]:
        after: list[Any] | None = None
        index = shape.key_index()
        while batch := read_chunk(stx, shape, after, chunk):
            yield from batch
            after = [batch[-1][i] for i in index]

    return rows_digest(rows(), shape.kinds)
