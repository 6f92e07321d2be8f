"""What `statsbot db check` reads on either engine besides the file check: schema version, row counts."""

from __future__ import annotations

from bot.db.connection import Reader

# The tables whose row counts `db check` reports (the imported data and the queues around it).
COUNTED_TABLES = (
    "processed_files",
    "rounds",
    "player_stats",
    "weapon_stats",
    "matches",
    "sessions",
    "outbox",
)


async def schema_version(db: Reader) -> int:
    """The schema version the database says it has (max of schema_version; 0 when empty)."""
    r = await db.fetchone("SELECT coalesce(max(version), 0) FROM schema_version")
    return 0 if r is None else int(r[0])


async def table_counts(db: Reader) -> dict[str, int]:
    """Rows per table of COUNTED_TABLES, in that order (one statement)."""
    columns = ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in COUNTED_TABLES)
    r = await db.fetchone(f"SELECT {columns}")
    return {t: (0 if r is None else int(r[i])) for i, t in enumerate(COUNTED_TABLES)}


async def postgresql_size(db: Reader) -> tuple[str, int]:
    """PostgreSQL's server version and the database's size in bytes (pg_database_size)."""
    r = await db.fetchone("SELECT current_setting('server_version'), pg_database_size(current_database())")
    return ("?", 0) if r is None else (str(r[0]), int(r[1]))
