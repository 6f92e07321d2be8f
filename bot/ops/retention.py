"""Retention (off by default): gzip or delete old local copies, delete old remote files once imported."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from bot.config import ServerConfig, Settings
from bot.db import ops_queries
from bot.db.connection import Database
from bot.db.files import add_event
from bot.errors import SourceError
from bot.factory import make_source
from bot.ingest.files import fsync_dir
from bot.ingest.source import StatsSource
from bot.ops.diagnose import GZ_SUFFIX
from bot.ops.drift import DONE_STATES, file_date

log = structlog.get_logger(__name__)

SourceFactory = Callable[[ServerConfig], StatsSource]
# Only files whose content is safely in the database may leave the server.
REMOTE_DELETABLE = frozenset({"imported", "duplicate"})


@dataclass(frozen=True, slots=True)
class RetentionItem:
    server: str
    filename: str
    action: str  # compress | delete_local | delete_remote | skip
    outcome: str  # done | would | skipped | error
    detail: str = ""


ACTIONS = ("compress", "delete_local", "delete_remote")


@dataclass(slots=True)
class RetentionResult:
    items: list[RetentionItem] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not any(i.outcome == "error" for i in self.items)

    def count(self, action: str, outcome: str = "done") -> int:
        return sum(1 for i in self.items if i.action == action and i.outcome == outcome)

    def render(self) -> str:
        lines = [
            f"{i.server}/{i.filename}: {i.action} {i.outcome}" + (f" ({i.detail})" if i.detail else "")
            for i in self.items
            if i.outcome != "done"
        ]
        if self.dry_run:  # the summary counts what a real run would do, as the lines above list it
            counts = ", ".join(f"{a} {self.count(a, 'would')}" for a in ACTIONS)
            lines.append(f"retention (dry run, nothing changed): would {counts}")
        else:
            lines.append("retention: " + ", ".join(f"{a} {self.count(a)}" for a in ACTIONS))
        return "\n".join(lines) + "\n"


def cutoff_date(now: float, days: int) -> str:
    """Files named before this date (YYYY-MM-DD) are old enough."""
    return (dt.datetime.fromtimestamp(now, dt.UTC).date() - dt.timedelta(days=days)).isoformat()


def gzip_file(path: Path) -> Path:
    """Compress `path` to `path.gz` atomically (.part, fsync, rename), then remove the original."""
    dest = path.with_name(path.name + GZ_SUFFIX)
    part = dest.with_name(dest.name + ".part")
    try:
        with path.open("rb") as src, part.open("wb") as raw:
            # mtime=0: the same input always gives the same bytes (reproducible, comparable copies).
            with gzip.GzipFile(filename=path.name, mode="wb", fileobj=raw, mtime=0) as gz:
                shutil.copyfileobj(src, gz)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    path.unlink()
    fsync_dir(path.parent)
    return dest


def _local_files(folder: Path) -> list[tuple[str, Path]]:
    """(logical name, path) of each file; `<name>.gz` is named `<name>`; leftover `.part` files skipped."""
    if not folder.is_dir():
        return []
    out = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if not entry.is_file(follow_symlinks=False) or entry.name.endswith(".part"):
            continue
        name = entry.name[: -len(GZ_SUFFIX)] if entry.name.endswith(GZ_SUFFIX) else entry.name
        out.append((name, Path(entry.path)))
    return out


async def _local(
    db: Database, settings: Settings, server: str, *, now: float, dry_run: bool
) -> list[RetentionItem]:
    cfg = settings.retention
    assert cfg.local_days is not None
    cutoff = cutoff_date(now, cfg.local_days)
    rows = {r.filename: r for r in await ops_queries.registry_rows(db, server)}
    items: list[RetentionItem] = []
    done: list[tuple[str, str]] = []
    for name, path in await asyncio.to_thread(_local_files, settings.paths.local_stats / server):
        day = file_date(name)
        compressed = path.name.endswith(GZ_SUFFIX)
        action = "delete_local" if cfg.local_action == "delete" else "compress"
        if day is None:
            items.append(RetentionItem(server, path.name, "skip", "skipped", "not a stats file name"))
            continue
        if day >= cutoff or (action == "compress" and compressed):
            continue
        row = rows.get(name)
        if row is None or row.state not in DONE_STATES:
            state = "no registry row" if row is None else f"state {row.state}"
            items.append(RetentionItem(server, name, action, "skipped", f"{state}: kept until processed"))
            continue
        if dry_run:
            items.append(RetentionItem(server, name, action, "would"))
            continue
        try:
            if action == "compress":
                await asyncio.to_thread(gzip_file, path)
            else:
                await asyncio.to_thread(path.unlink)
        except OSError as exc:
            items.append(RetentionItem(server, name, action, "error", str(exc)))
            continue
        items.append(RetentionItem(server, name, action, "done"))
        done.append((name, action))
    await _record(db, server, done, now)
    return items


async def _record(db: Database, server: str, done: list[tuple[str, str]], now: float) -> None:
    # One transaction per batch: `statsbot explain` shows where a local copy went.
    if not done:
        return
    async with db.transaction() as tx:
        for name, action in done:
            await add_event(tx, server, name, f"retention_{action}", {}, now)


async def _remote(
    db: Database, settings: Settings, source: StatsSource, *, now: float, dry_run: bool
) -> list[RetentionItem]:
    cfg = settings.retention
    assert cfg.remote_delete_days is not None
    server = source.server
    cutoff = cutoff_date(now, cfg.remote_delete_days)
    rows = {r.filename: r for r in await ops_queries.registry_rows(db, server)}
    items: list[RetentionItem] = []
    try:
        listing = await source.list()
    except SourceError as exc:
        return [RetentionItem(server, "*", "delete_remote", "error", f"cannot list: {exc}")]
    done: list[tuple[str, str]] = []
    for entry in sorted(listing, key=lambda e: e.name):
        if not entry.is_file:
            continue
        day = file_date(entry.name)
        if day is None:
            items.append(RetentionItem(server, entry.name, "skip", "skipped", "not a stats file name"))
            continue
        row = rows.get(entry.name)
        # The batch caps deletions per run (a slow server, a big backlog); the rest waits for the next run.
        if day >= cutoff or row is None or row.state not in REMOTE_DELETABLE or len(done) >= cfg.remote_batch:
            continue
        if row.size is not None and row.size != entry.size:
            items.append(
                RetentionItem(server, entry.name, "delete_remote", "skipped", "changed since import")
            )
            continue
        if dry_run:
            items.append(RetentionItem(server, entry.name, "delete_remote", "would"))
            continue
        try:
            await source.delete(entry.name)
        except SourceError as exc:
            items.append(RetentionItem(server, entry.name, "delete_remote", "error", str(exc)))
            continue
        items.append(RetentionItem(server, entry.name, "delete_remote", "done"))
        done.append((entry.name, "delete_remote"))
    await _record(db, server, done, now)
    return items


async def run_retention(
    db: Database,
    settings: Settings,
    *,
    dry_run: bool = False,
    source_factory: SourceFactory | None = None,
    now: float | None = None,
) -> RetentionResult:
    """Apply [retention] to every configured server. Unparseable names are skipped and reported."""
    at = time.time() if now is None else now
    factory = source_factory or (lambda cfg: make_source(cfg, settings))
    result = RetentionResult(dry_run=dry_run)
    for server in settings.servers:
        if settings.retention.local_days is not None:
            result.items += await _local(db, settings, server.name, now=at, dry_run=dry_run)
        if settings.retention.remote_delete_days is not None and server.enabled:
            source = factory(server)
            try:
                result.items += await _remote(db, settings, source, now=at, dry_run=dry_run)
            finally:
                await source.close()
    log.info(
        "retention_done",
        compressed=result.count("compress"),
        deleted_local=result.count("delete_local"),
        deleted_remote=result.count("delete_remote"),
        problems=sum(1 for i in result.items if i.outcome in ("skipped", "error")),
    )
    return result
