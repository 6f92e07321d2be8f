"""`statsbot sync`: import files never processed (from the server or local_stats/), restore local copies."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import gzip
import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from bot.config import ServerConfig, Settings
from bot.db.connection import Database
from bot.db.files import add_event, record_seen_sync, set_state
from bot.errors import SourceError, SourceUnavailable
from bot.factory import import_settings, make_source
from bot.ingest import history
from bot.ingest.files import safe_local_path
from bot.ingest.importer import import_file
from bot.ingest.source import StatsSource
from bot.ops.diagnose import GZ_SUFFIX, snapshot
from bot.ops.drift import IN_PROGRESS_STATES, ServerSnapshot, file_date, is_stats_name
from bot.ops.locations import RemoteFile
from bot.ops.restore_local import restore_candidates, restore_one

log = structlog.get_logger(__name__)

SourceFactory = Callable[[ServerConfig], StatsSource]


@dataclass(frozen=True, slots=True)
class SyncItem:
    server: str
    filename: str
    action: str  # import | restore_local
    outcome: str  # imported / duplicate / quarantined / ... / restored / would import / skipped
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome not in ("failed", "quarantined", "error")


@dataclass(slots=True)
class SyncResult:
    items: list[SyncItem] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.unreachable and all(i.ok for i in self.items)

    def render(self) -> str:
        lines = [
            f"{i.server}/{i.filename}: {i.action} → {i.outcome}" + (f" ({i.detail})" if i.detail else "")
            for i in self.items
        ]
        lines += [f"{srv}: {why}" for srv, why in self.unreachable.items()]
        counts: dict[str, int] = {}
        for i in self.items:
            counts[i.outcome] = counts.get(i.outcome, 0) + 1
        summary = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing to do"
        lines.append(f"sync: {summary}")
        return "\n".join(lines) + "\n"


def _order(name: str) -> str:
    # File names start with the timestamp: sorting the basenames imports in play order (R1 before R2).
    return name.rsplit("/", 1)[-1]


def import_candidates(snap: ServerSnapshot, since: dt.date | None) -> list[str]:
    """Files on the server or in local_stats/ that were never processed, oldest first (pure)."""
    names = set(snap.local) | set(snap.remote or {})
    picked = []
    for name in names:
        if name in snap.rounds or not is_stats_name(name):
            continue
        row = snap.registry.get(name)
        if row is not None and row.state not in IN_PROGRESS_STATES:
            continue
        if since is not None and (file_date(name) or "") < since.isoformat():
            continue
        picked.append(name)
    return sorted(picked, key=_order)


def _read_local(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(GZ_SUFFIX) else data


async def _settled(source: StatsSource, snap: ServerSnapshot, names: list[str], wait: float) -> set[str]:
    """Names whose size and mtime did not change across `wait` seconds (a file may be mid-write)."""
    if not names or snap.remote is None:
        return set()
    await asyncio.sleep(wait)
    stable = set()
    for name in names:
        entry = await source.stat(name)
        before = snap.remote[name]
        if entry is not None and (entry.size, entry.mtime) == (before.size, before.mtime):
            stable.add(name)
    return stable


async def _fetch(
    source: StatsSource, snap: ServerSnapshot, local_stats: Path, name: str
) -> tuple[bytes, int, str]:
    """(content, mtime, origin): the local copy when it matches the listing, else a fresh download."""
    listed = snap.remote.get(name) if snap.remote is not None else None
    local = snap.local.get(name)
    if local is not None and (listed is None or local.compressed or local.size == listed.size):
        path = local_stats / snap.server / (name + (GZ_SUFFIX if local.compressed else ""))
        data = await asyncio.to_thread(_read_local, path)
        mtime = listed.mtime if listed is not None else int((await asyncio.to_thread(path.stat)).st_mtime)
        return data, mtime, "local_stats"
    assert listed is not None
    got = await source.download(name, safe_local_path(local_stats, snap.server, name), listed.size)
    return await asyncio.to_thread(got.path.read_bytes), listed.mtime, "server"


def _needs_download(snap: ServerSnapshot, name: str) -> bool:
    listed = snap.remote.get(name) if snap.remote is not None else None
    local = snap.local.get(name)
    return listed is not None and (local is None or (not local.compressed and local.size != listed.size))


async def _sync_server(
    db: Database, settings: Settings, cfg: ServerConfig, source: StatsSource, result: SyncResult, *,
    since: dt.date | None, restore_local: bool, dry_run: bool, clock: Callable[[], float], posts: bool,
) -> None:  # fmt: skip
    local_stats = settings.paths.local_stats
    snap = await snapshot(db, cfg.name, local_root=local_stats, source=source)
    if snap.remote is None:  # local copies can still be imported; nothing can be downloaded
        result.unreachable[cfg.name] = _why_unlisted(snap, settings.servers.index(cfg))
    todo = import_candidates(snap, since)
    restore = restore_candidates(snap, since) if restore_local else []
    if dry_run:  # the same selection the run below acts on
        result.items += [SyncItem(cfg.name, n, "import", "would import") for n in todo]
        result.items += [
            SyncItem(cfg.name, n, "restore_local", "would restore", f"from the {origin}")
            for n, origin in restore
        ]
        return
    if snap.remote is not None and history.quiet_history(settings):
        await _begin_history(db, cfg.name, snap.remote, clock())
    downloads = [n for n in todo if _needs_download(snap, n)]
    stable = await _settled(source, snap, downloads, cfg.min_file_age_seconds)
    knobs = dataclasses.replace(import_settings(settings), post_stats=posts)
    for name in todo:
        if name in downloads and name not in stable:
            result.items.append(SyncItem(cfg.name, name, "import", "skipped", "still changing on the server"))
            continue
        try:
            data, mtime, origin = await _fetch(source, snap, local_stats, name)
        except SourceUnavailable as exc:
            result.unreachable[cfg.name] = str(exc)
            return
        except (SourceError, OSError) as exc:
            result.items.append(SyncItem(cfg.name, name, "import", "error", str(exc)))
            continue
        sha, now = hashlib.sha256(data).hexdigest(), clock()
        async with db.transaction() as tx:  # the journey stays complete: `explain` shows where it came from
            await set_state(
                tx, cfg.name, name, "downloaded", now=now, size=len(data), mtime=mtime, sha256=sha
            )
            detail = {"size": len(data), "sha256": sha, "via": f"sync ({origin})"}
            await add_event(tx, cfg.name, name, "downloaded", detail, now)
        outcome = await import_file(
            db, server=cfg.name, filename=name, size=len(data), mtime=mtime, data=data, sha256=sha,
            settings=knobs, now=now,
        )  # fmt: skip
        result.items.append(SyncItem(cfg.name, name, "import", outcome.state, outcome.error or ""))
        log.info("sync_imported", server=cfg.name, file=name, state=outcome.state, origin=origin)
    for name, origin in restore:
        done, how = await restore_one(db, snap, source, local_stats, name, origin, clock)
        result.items.append(SyncItem(cfg.name, name, "restore_local", done, how))


async def _begin_history(db: Database, server: str, remote: Mapping[str, RemoteFile], now: float) -> None:
    """A server never seen: its listing is history (bot/ingest/history.py), recorded as the daemon's
    first listing is, horizon and 'seen' rows in one transaction, before anything is imported."""
    until = history.horizon(remote)
    listed = [(f.name, f.size, f.mtime) for f in remote.values() if is_stats_name(f.name)]
    async with db.transaction() as tx:
        if await tx.call(history.begin_sync, server, until, now):
            await tx.call(record_seen_sync, server, listed, now)


def _why_unlisted(snap: ServerSnapshot, index: int) -> str:
    if snap.remote_dir_missing:
        return (
            f"remote folder not found ({snap.remote_error}): the server answered; fix "
            f"`servers[{index}].remote_dir` in the config"
        )
    return f"server unreachable: {snap.remote_error or 'unreachable'}"


async def sync(
    db: Database,
    settings: Settings,
    *,
    server: str | None = None,
    since: dt.date | None = None,
    restore_local: bool = False,
    dry_run: bool = False,
    posts: bool = True,
    source_factory: SourceFactory | None = None,
    now: float | None = None,
) -> SyncResult:
    """Import never-processed files and (optionally) restore local copies, server by server.

    Nothing already imported is imported again: candidates exclude every file with a round or a final
    registry state, and the importer itself records same-content files as duplicates. `posts=False`
    imports without queueing the stats posts (a big catch-up that should not flood the channel).
    """
    factory = source_factory or (lambda cfg: make_source(cfg, settings))
    servers = [settings.server(server)] if server is not None else settings.enabled_servers
    result = SyncResult()
    for cfg in servers:
        source = factory(cfg)
        try:
            await _sync_server(
                db, settings, cfg, source, result, since=since, restore_local=restore_local,
                dry_run=dry_run, clock=time.time if now is None else (lambda: now), posts=posts,
            )  # fmt: skip
        finally:
            await source.close()
    return result
