"""What the drift watch reads of one server, on its own read-only connection (blocking: use a thread).

100,000 registry rows and rounds take a second or more to turn into values: read and built in a worker
thread on a separate connection (WAL lets readers run beside the writer), the check neither stalls the
event loop nor holds up the daemon's single connection, and so never delays a poll or an import.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# In the order of bot.ops.locations.RegistryEntry's fields.
REGISTRY_COLUMNS = "filename, state, size, mtime, sha256, attempts, last_error, round_id, updated_at"
ROUND_COLUMNS = "id, filename, sha256, parser_version"


@dataclass(frozen=True, slots=True)
class ServerRows:
    """One server's registry rows and rounds as plain tuples (REGISTRY_COLUMNS, ROUND_COLUMNS), read in
    one transaction: both from the same moment."""

    registry: list[tuple[Any, ...]]
    rounds: list[tuple[Any, ...]]


def read_server_rows(path: Path, server: str) -> ServerRows:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        conn.execute("BEGIN")
        registry = conn.execute(
            f"SELECT {REGISTRY_COLUMNS} FROM processed_files WHERE server = ?", (server,)
        ).fetchall()
        rounds = conn.execute(f"SELECT {ROUND_COLUMNS} FROM rounds WHERE server = ?", (server,)).fetchall()
        conn.rollback()
        return ServerRows(registry, rounds)
    finally:
        conn.close()
