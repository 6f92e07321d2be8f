"""Rounds made by an older parser version (`reprocess --stale`, diagnose): counted and paged in play order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.db.connection import Reader


@dataclass(frozen=True, slots=True)
class StaleRound:
    """A round whose stored parser_version is below the current one."""

    server: str
    filename: str
    played_at: str
    parser_version: int

    @property
    def position(self) -> tuple[str, str, str]:
        """Where a page ends: the next page starts after it."""
        return (self.played_at, self.filename, self.server)


def _where(version: int, server: str | None) -> tuple[str, list[Any]]:
    sql = "parser_version < ?"
    params: list[Any] = [version]
    if server is not None:
        sql += " AND server = ?"
        params.append(server)
    return sql, params


async def count_stale(db: Reader, version: int, server: str | None = None) -> int:
    """How many rounds an older parser made (all servers unless `server`)."""
    where, params = _where(version, server)
    r = await db.fetchone(f"SELECT count(*) FROM rounds WHERE {where}", params)
    return 0 if r is None else int(r[0])


async def stale_page(
    db: Reader, version: int, *, after: tuple[str, str, str] | None, limit: int, server: str | None = None
) -> list[StaleRound]:
    """The next `limit` stale rounds after `after`, in play order (round 1 before its round 2).

    Keyset paging: a round that could not be reprocessed stays stale and is not met again.
    """
    where, params = _where(version, server)
    if after is not None:
        where += " AND (played_at, filename, server) > (?, ?, ?)"
        params += list(after)
    rows = await db.fetchall(
        f"SELECT server, filename, played_at, parser_version FROM rounds WHERE {where} "
        "ORDER BY played_at, filename, server LIMIT ?",
        [*params, limit],
    )
    return [StaleRound(str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in rows]
