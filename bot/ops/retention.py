"""Retention (off by default): gzip or delete old local copies, delete old remote files once imported."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import gzip
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from bot.config import RetentionConfig, ServerConfig, Settings
from bot.db import ops_queries, remote_files
from bot.db.connection import Database
from bot.db.files import add_event
from bot.db.ops_queries import RegistryRow
from bot.errors import SourceError
from bot.factory import make_source
from bot.ingest.files import fsync_dir
from bot.ingest.source import RemoteEntry, StatsSource
from bot.ops.diagnose import GZ_SUFFIX
from bot.ops.drift import DONE_STATES, file_date

log = structlog.get_logger(__name__)

SourceFactory = Callable[[ServerConfig], StatsSource]
Clock = Callable[[], float]
# Only files whose content is safely in the database may leave the server.
REMOTE_DELETABLE = frozenset({"imported", "duplicate"})


@dataclass(frozen=True, slots=True)
class RetentionItem:
    server: str
    filename: str
    action: str  # compress | delete_local | delete_remote | skip
    outcome: str  # done | would | skipped | error (todo: selected, not yet done)
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
        # The run lists every file as its preview did, line for line: `compress would` became `compress done`.
        lines = [
            f"{i.server}/{i.filename}: {i.action} {i.outcome}" + (f" ({i.detail})" if i.detail else "")
            for i in self.items
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


@dataclass(frozen=True, slots=True)
class Planned:
    """One selected action (outcome "todo") or a file reported and left alone (outcome "skipped")."""

    item: RetentionItem
    path: Path | None = None  # the local file to act on
    gone_by: str | None = None  # a remote deletion: recorded in the registry as retention's own


def select_local(
    cfg: RetentionConfig,
    server: str,
    files: list[tuple[str, Path]],
    rows: Mapping[str, RegistryRow],
    now: float,
) -> list[Planned]:
    """What retention does to local copies (pure): the ONE selection the dry run shows and the run acts on.

    Old copies (by the date in the name) are compressed or deleted once the registry says the file is done;
    with `mirror_remote_deletions`, a copy of a done file that is no longer on the server is deleted too.
    """
    cutoff = cutoff_date(now, cfg.local_days) if cfg.local_days is not None else None
    action = "delete_local" if cfg.local_action == "delete" else "compress"
    planned: list[Planned] = []
    for name, path in files:
        day = file_date(name)
        compressed = path.name.endswith(GZ_SUFFIX)
        row = rows.get(name)
        if day is None:
            planned.append(
                Planned(RetentionItem(server, path.name, "skip", "skipped", "not a stats file name"))
            )
            continue
        done = row is not None and row.state in DONE_STATES
        if cfg.mirror_remote_deletions and done and row is not None and row.remote_gone_at is not None:
            why = f"gone from the server ({row.remote_gone_by or 'server'}); the round stays in the database"
            planned.append(Planned(RetentionItem(server, name, "delete_local", "todo", why), path))
            continue
        if cutoff is None or day >= cutoff or (action == "compress" and compressed):
            continue
        if not done:
            state = "no registry row" if row is None else f"state {row.state}"
            item = RetentionItem(server, name, action, "skipped", f"{state}: kept until processed")
            planned.append(Planned(item))
            continue
        planned.append(Planned(RetentionItem(server, name, action, "todo"), path))
    return planned


def select_remote(
    cfg: RetentionConfig, server: str, listing: list[RemoteEntry], rows: Mapping[str, RegistryRow], now: float
) -> list[Planned]:
    """The remote deletions of one run (pure), at most `remote_batch`: the dry run lists exactly these.

    A file is deleted only when its content is in the database (imported or duplicate) and the server's
    size AND mtime are still those recorded at its import; anything else is kept and reported.
    """
    assert cfg.remote_delete_days is not None
    cutoff = cutoff_date(now, cfg.remote_delete_days)
    planned: list[Planned] = []
    chosen = 0
    for entry in sorted(listing, key=lambda e: e.name):
        if not entry.is_file:
            continue
        day = file_date(entry.name)
        if day is None:
            planned.append(
                Planned(RetentionItem(server, entry.name, "skip", "skipped", "not a stats file name"))
            )
            continue
        row = rows.get(entry.name)
        # The batch caps deletions per run (a slow server, a big backlog); the rest waits for the next run.
        if day >= cutoff or row is None or row.state not in REMOTE_DELETABLE or chosen >= cfg.remote_batch:
            continue
        problem = _unlike_import(row, entry)
        if problem is not None:
            planned.append(Planned(RetentionItem(server, entry.name, "delete_remote", "skipped", problem)))
            continue
        chosen += 1
        planned.append(
            Planned(RetentionItem(server, entry.name, "delete_remote", "todo"), gone_by="retention")
        )
    return planned


def _unlike_import(row: RegistryRow, entry: RemoteEntry) -> str | None:
    if row.size is None or row.mtime is None:
        return "the registry has no size/mtime of the import: kept (`statsbot registry repair --apply`)"
    if row.size != entry.size:
        return f"changed since import: size {row.size} → {entry.size}"
    if row.mtime != entry.mtime:
        return f"changed since import: mtime {row.mtime} → {entry.mtime}"
    return None


async def _act(
    db: Database, planned: list[Planned], *, source: StatsSource | None, clock: Clock, dry_run: bool
) -> list[RetentionItem]:
    """Carry out the selected actions one by one, each recorded in the file's history as it happens."""
    items: list[RetentionItem] = []
    for p in planned:
        it = p.item
        if it.outcome != "todo":
            items.append(it)
            continue
        if dry_run:
            items.append(dataclasses.replace(it, outcome="would"))
            continue
        try:
            if it.action == "delete_remote":
                assert source is not None
                await source.delete(it.filename)
            elif it.action == "compress":
                assert p.path is not None
                await asyncio.to_thread(gzip_file, p.path)
            else:
                assert p.path is not None
                await asyncio.to_thread(p.path.unlink)
        except (SourceError, OSError) as exc:
            items.append(dataclasses.replace(it, outcome="error", detail=str(exc)))
            continue
        now = clock()  # the moment it happened: a crash mid-run leaves the history true to the files
        async with db.transaction() as tx:
            detail = {"reason": it.detail} if it.detail else {}
            await add_event(tx, it.server, it.filename, f"retention_{it.action}", detail, now)
            if p.gone_by is not None:
                await remote_files.mark_gone(tx, it.server, {it.filename: p.gone_by}, now)
        items.append(dataclasses.replace(it, outcome="done"))
    return items


async def _local(
    db: Database, settings: Settings, server: str, *, now: float, clock: Clock, dry_run: bool
) -> list[RetentionItem]:
    rows = {r.filename: r for r in await ops_queries.registry_rows(db, server)}
    files = await asyncio.to_thread(_local_files, settings.paths.local_stats / server)
    planned = select_local(settings.retention, server, files, rows, now)
    return await _act(db, planned, source=None, clock=clock, dry_run=dry_run)


async def _remote(
    db: Database, settings: Settings, source: StatsSource, *, now: float, clock: Clock, dry_run: bool
) -> list[RetentionItem]:
    server = source.server
    rows = {r.filename: r for r in await ops_queries.registry_rows(db, server)}
    try:
        listing = await source.list()
    except SourceError as exc:
        return [RetentionItem(server, "*", "delete_remote", "error", f"cannot list: {exc}")]
    planned = select_remote(settings.retention, server, listing, rows, now)
    return await _act(db, planned, source=source, clock=clock, dry_run=dry_run)


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
    clock: Clock = time.time if now is None else (lambda: at)
    factory = source_factory or (lambda cfg: make_source(cfg, settings))
    result = RetentionResult(dry_run=dry_run)
    ret = settings.retention
    for server in settings.servers:
        # Remote first: with mirror_remote_deletions the local side then follows in the same run.
        if ret.remote_delete_days is not None and server.enabled:
            source = factory(server)
            try:
                result.items += await _remote(db, settings, source, now=at, clock=clock, dry_run=dry_run)
            finally:
                await source.close()
        if ret.local_days is not None or ret.mirror_remote_deletions:
            result.items += await _local(db, settings, server.name, now=at, clock=clock, dry_run=dry_run)
    log.info(
        "retention_done",
        compressed=result.count("compress"),
        deleted_local=result.count("delete_local"),
        deleted_remote=result.count("delete_remote"),
        problems=sum(1 for i in result.items if i.outcome in ("skipped", "error")),
    )
    return result
