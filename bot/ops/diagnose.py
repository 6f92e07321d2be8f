"""`statsbot diagnose`: gather the four locations of each server (I/O) and compare them (bot.ops.drift)."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from bot.config import ServerConfig, Settings
from bot.db import ops_queries, remote_files, status
from bot.db.connection import Reader
from bot.errors import RemoteDirMissing, SourceError
from bot.factory import make_source
from bot.ingest.poll_health import local_disk_key
from bot.ingest.source import StatsSource
from bot.ops.drift import (
    DISABLED,
    NOT_CHECKED,
    NOT_CONFIGURED,
    LocalFile,
    RegistryEntry,
    RemoteFile,
    RoundEntry,
    ServerReport,
    ServerSnapshot,
    compare,
    is_stats_name,
)
from bot.ops.drift_remote import CONTENT_KEPT

log = structlog.get_logger(__name__)

SourceFactory = Callable[[ServerConfig], StatsSource]
GZ_SUFFIX = ".gz"
IN_FLIGHT_POLLS = 5  # a new file waiting longer than this many polls (+ settle time) is a finding


@dataclass(frozen=True, slots=True)
class DiagnoseReport:
    """The whole report: one ServerReport per server, in configuration order."""

    generated_at: float
    servers: tuple[ServerReport, ...]
    # Why the daemon and the writing commands refuse this database at start (bot/db/loss_check.py).
    refused: str | None = None

    @property
    def healthy(self) -> bool:
        return self.refused is None and all(s.healthy for s in self.servers)


def scan_local(folder: Path) -> dict[str, LocalFile]:
    """Stats files in one server's local_stats folder; `<name>.gz` (retention) counts as `<name>`."""
    found: dict[str, LocalFile] = {}
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return found
    for entry in entries:
        if not entry.is_file(follow_symlinks=False):
            continue
        compressed = entry.name.endswith(GZ_SUFFIX)
        name = entry.name[: -len(GZ_SUFFIX)] if compressed else entry.name
        if not is_stats_name(name):  # .part leftovers, notes an operator dropped there
            continue
        if name in found and not compressed:
            continue  # both copies present: the plain one wins
        found[name] = LocalFile(name, entry.stat(follow_symlinks=False).st_size, compressed)
    return found


@dataclass(frozen=True, slots=True)
class Listing:
    """A server's files, or why there are none: `files` None when the listing failed."""

    files: dict[str, RemoteFile] | None
    error: str | None = None
    dir_missing: bool = False  # the server answered: the configured folder does not exist


async def list_remote(source: StatsSource, limit_seconds: float) -> Listing:
    """The server's files, or the reason it cannot be listed; never raises for a source failure."""
    try:
        async with asyncio.timeout(limit_seconds):
            entries = await source.list()
    except (SourceError, OSError, TimeoutError) as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else str(exc)
        log.warning("diagnose_remote_unavailable", server=source.server, error=reason)
        return Listing(None, reason, isinstance(exc, RemoteDirMissing))
    return Listing({e.name: RemoteFile(e.name, e.size, e.mtime) for e in entries if e.is_file})


async def snapshot(
    db: Reader,
    server: str,
    *,
    local_root: Path,
    source: StatsSource | None,
    limit_seconds: float = 30.0,
    listing: Listing | None = None,
) -> ServerSnapshot:
    """Read the four locations of one server. `source` None: the server is not configured (remote unknown).

    `listing`: the server's files as the caller already has them (the drift watch's cheap listing).
    """
    if listing is None:
        listing = Listing(None, NOT_CONFIGURED)
        if source is not None:
            listing = await list_remote(source, limit_seconds)
    remote = listing.files
    local = await asyncio.to_thread(scan_local, local_root / server)
    reg_rows = await ops_queries.registry_rows(db, server)
    # 100,000 rows take a second to turn into values: off the event loop (the daemon's drift watch).
    registry = await asyncio.to_thread(lambda: {r.filename: _entry(r) for r in reg_rows})
    refs = await ops_queries.round_refs(db, server)
    # Where the registry's size disagrees with the server's or the local copy's, the stored content says
    # which side changed: its size is loaded for those few files only (a decompression each).
    odd = await asyncio.to_thread(
        lambda: [r.filename for r in refs if _size_in_doubt(registry.get(r.filename), remote, local)]
    )
    sizes = await remote_files.stored_sizes(db, server, odd)
    rounds = await asyncio.to_thread(
        lambda: {
            r.filename: RoundEntry(r.id, r.filename, r.sha256, sizes.get(r.filename), r.parser_version)
            for r in refs
        }
    )
    # Imported files the server does not list: were they ever there (deleted), or imported from a folder?
    # (Rows the daemon already recorded gone need no look: retention deleted 50,000 files? no query for them.)
    not_listed = [
        n
        for n, row in registry.items()
        if row.state in CONTENT_KEPT and row.remote_gone_at is None and n not in (remote or {})
    ]
    from_server = frozenset(await remote_files.came_from_server(db, server, not_listed) if remote else ())
    return ServerSnapshot(
        server, remote, local, registry, rounds, listing.error, from_server=from_server,
        remote_dir_missing=listing.dir_missing,
    )  # fmt: skip


def _entry(r: ops_queries.RegistryRow) -> RegistryEntry:
    return RegistryEntry(
        r.filename, r.state, r.size, r.mtime, r.sha256, r.attempts, r.last_error, r.round_id, r.updated_at,
        r.remote_gone_at, r.remote_gone_by, r.first_seen_at,
    )  # fmt: skip


def _size_in_doubt(
    row: RegistryEntry | None, remote: dict[str, RemoteFile] | None, local: dict[str, LocalFile]
) -> bool:
    """The registry row is missing or incomplete (an older layer-4 repair), or its size is not the server's
    or the local copy's: the stored content's size then decides which side is right."""
    if row is None or row.size is None or row.mtime is None:  # a repair will need the imported size
        return True
    return any(
        other not in (None, row.size) for other in (_size(remote, row.name), _plain_size(local, row.name))
    )


def _size(remote: dict[str, RemoteFile] | None, name: str) -> int | None:
    entry = (remote or {}).get(name)
    return None if entry is None else entry.size


def _plain_size(local: dict[str, LocalFile], name: str) -> int | None:
    copy = local.get(name)
    return None if copy is None or copy.compressed else copy.size


def servers_to_report(settings: Settings, known: Sequence[str], only: str | None) -> list[str]:
    """Configured servers first, then servers the database knows but the config no longer lists."""
    names = [s.name for s in settings.servers]
    names += [n for n in known if n not in names]
    if only is not None:
        if only not in names:
            settings.server(only)  # raises ConfigError naming the unknown server
        names = [only]
    return names


def in_flight_bound(cfg: ServerConfig) -> float:
    """How long a new file may wait on the server before it counts as never processed: several polls and
    the settle time (the daemon lists, waits `min_file_age_seconds`, looks again, downloads, imports)."""
    return IN_FLIGHT_POLLS * cfg.poll_seconds + 2 * cfg.min_file_age_seconds + cfg.operation_timeout_seconds


def _listing_limit(cfg: ServerConfig | None) -> float:
    if cfg is None:
        return 30.0
    return cfg.connect_timeout_seconds + cfg.operation_timeout_seconds


async def diagnose(
    db: Reader,
    settings: Settings,
    *,
    server: str | None = None,
    source_factory: SourceFactory | None = None,
    remote: bool = True,
    limit_seconds: float | None = None,
) -> DiagnoseReport:
    """The four-location report for every server (or one). An unreachable server is reported, never raised.

    `source_factory` builds a source per configured server (default: the production SSH factory);
    `remote=False` skips the servers entirely (the remote column is then unknown). A listing may take
    `limit_seconds` (default: the server's connect + operation timeouts) before it counts as unreachable.
    """
    if source_factory is None:

        def source_factory(cfg: ServerConfig) -> StatsSource:
            return make_source(cfg, settings)

    configured = {s.name: s for s in settings.servers}
    last_errors = {s.server: s.last_error for s in await status.server_statuses(db) if s.last_error}
    disk_alerts = {a.key: a.message for a in await status.open_alerts(db) if a.key.startswith("local_disk:")}
    now = time.time()
    names = servers_to_report(settings, await ops_queries.known_servers(db), server)

    async def one(name: str) -> ServerReport:
        cfg = configured.get(name)
        source = source_factory(cfg) if cfg is not None and remote and cfg.enabled else None
        try:
            snap = await snapshot(
                db, name, local_root=settings.paths.local_stats, source=source,
                limit_seconds=limit_seconds or _listing_limit(cfg),
            )  # fmt: skip
        finally:
            if source is not None:
                await source.close()
        if source is None and cfg is not None:
            snap = dataclasses.replace(
                snap, remote=None, remote_error=NOT_CHECKED if cfg.enabled else DISABLED
            )
        if cfg is not None:
            snap = dataclasses.replace(
                snap, last_poll_error=last_errors.get(name), address=(cfg.host, cfg.port),
                remote_dir=cfg.remote_dir, config_index=settings.servers.index(cfg),
                now=now, in_flight_seconds=in_flight_bound(cfg),
            )  # fmt: skip
        snap = dataclasses.replace(snap, local_disk_alert=disk_alerts.get(local_disk_key(name)))
        return compare(snap)

    # Servers are listed concurrently: one slow or unreachable server costs its timeout once, not per server.
    reports = await asyncio.gather(*(one(name) for name in names))
    return DiagnoseReport(time.time(), tuple(reports))
