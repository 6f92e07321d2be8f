"""Server health SQL: per-server poll status and open/resolved alerts (each posted once, never per poll)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.db.connection import Reader, SyncTx, Tx, as_async


@dataclass(frozen=True, slots=True)
class ServerStatus:
    """One `server_status` row."""

    server: str
    last_poll_at: float | None
    last_success_at: float | None
    last_error: str | None
    consecutive_failures: int
    last_listing_count: int | None
    last_poll_seconds: float | None


@dataclass(frozen=True, slots=True)
class Alert:
    """One `alerts` row; `resolved_at` is None while the problem is open."""

    key: str
    severity: str
    message: str
    opened_at: float
    resolved_at: float | None


async def record_poll_success(
    tx: Tx, server: str, *, now: float, listing_count: int | None, seconds: float
) -> None:
    """A poll cycle of `server` succeeded: failures reset, counts and duration stored."""
    await tx.execute(
        "INSERT INTO server_status(server, last_poll_at, last_success_at, last_error, consecutive_failures, "
        "last_listing_count, last_poll_seconds) VALUES (?, ?, ?, NULL, 0, ?, ?) "
        "ON CONFLICT(server) DO UPDATE SET last_poll_at = excluded.last_poll_at, "
        "last_success_at = excluded.last_success_at, last_error = NULL, consecutive_failures = 0, "
        "last_listing_count = coalesce(excluded.last_listing_count, server_status.last_listing_count), "
        "last_poll_seconds = excluded.last_poll_seconds",
        (server, now, now, listing_count, seconds),
    )


async def record_poll_failure(tx: Tx, server: str, *, now: float, error: str, seconds: float) -> int:
    """A poll cycle of `server` failed; returns the number of consecutive failures now."""
    await tx.execute(
        "INSERT INTO server_status(server, last_poll_at, last_error, consecutive_failures, "
        "last_poll_seconds) VALUES (?, ?, ?, 1, ?) "
        "ON CONFLICT(server) DO UPDATE SET last_poll_at = excluded.last_poll_at, "
        "last_error = excluded.last_error, consecutive_failures = server_status.consecutive_failures + 1, "
        "last_poll_seconds = excluded.last_poll_seconds",
        (server, now, error, seconds),
    )
    r = await tx.fetchone("SELECT consecutive_failures FROM server_status WHERE server = ?", (server,))
    return 0 if r is None else int(r[0])


async def server_statuses(db: Reader) -> list[ServerStatus]:
    """Every server's poll status, by name."""
    rows = await db.fetchall(
        "SELECT server, last_poll_at, last_success_at, last_error, consecutive_failures, "
        "last_listing_count, last_poll_seconds FROM server_status ORDER BY server"
    )
    return [ServerStatus(*tuple(r)) for r in rows]


def open_alert_sync(
    stx: SyncTx, key: str, severity: str, message: str, now: float, *, repost_on_change: bool = False
) -> bool:
    """Open the alert `key`. True only when it was not open already (then the caller posts it once).

    `repost_on_change`: an alert already open whose message differs is updated and True returned, so
    the caller posts the new problem (a quarantined file rewritten with another error). Off for
    alerts whose text carries live figures, which would otherwise post at every check.
    """
    r = stx.fetchone("SELECT resolved_at, message FROM alerts WHERE key = ?", (key,))
    if r is not None and r[0] is None:
        if not repost_on_change or r[1] == message:
            return False
        stx.execute("UPDATE alerts SET severity = ?, message = ? WHERE key = ?", (severity, message, key))
        return True
    stx.execute(
        "INSERT INTO alerts(key, severity, message, opened_at, resolved_at) VALUES (?, ?, ?, ?, NULL) "
        "ON CONFLICT(key) DO UPDATE SET severity = excluded.severity, message = excluded.message, "
        "opened_at = excluded.opened_at, resolved_at = NULL",
        (key, severity, message, now),
    )
    return True


def resolve_alert_sync(stx: SyncTx, key: str, now: float) -> bool:
    """Resolve the alert `key`. True only when it was open (then the caller posts the resolution once)."""
    result = stx.execute(
        "UPDATE alerts SET resolved_at = ? WHERE key = ? AND resolved_at IS NULL", (now, key)
    )
    return result.rowcount == 1


open_alert = as_async(open_alert_sync)
resolve_alert = as_async(resolve_alert_sync)


async def get_alert(db: Reader, key: str) -> Alert | None:
    """One alert by key."""
    r = await db.fetchone(
        "SELECT key, severity, message, opened_at, resolved_at FROM alerts WHERE key = ?", (key,)
    )
    return None if r is None else Alert(*tuple(r))


async def open_alerts(db: Reader) -> list[Alert]:
    """Alerts not yet resolved, oldest first."""
    rows = await db.fetchall(
        "SELECT key, severity, message, opened_at, resolved_at FROM alerts "
        "WHERE resolved_at IS NULL ORDER BY opened_at, key"
    )
    return [Alert(*tuple(r)) for r in rows]
