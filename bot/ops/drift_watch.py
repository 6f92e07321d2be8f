"""The daemon's drift watch: diagnose's four-location comparison on a schedule, alerts once per new kind.

Each check compares every enabled server (bot.ops.drift.compare), opens an admin alert for each kind of
difference that matters and was not open yet, resolves the alerts of kinds that cleared (each posted
once, through the outbox, in the transaction that records it), and stores the per-kind counts that
/metrics exports. The listing is the cheap one: one stat of the remote folder, and a full listing only
when the folder's mtime moved (and once more at the next check: mtimes have one-second resolution) or
every FULL_LISTING_EVERY checks (a file rewritten in place does not move the folder's mtime).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from bot.config import ServerConfig, Settings
from bot.db import drift_counts, outbox, status
from bot.db.connection import Database
from bot.errors import RemoteDirMissing, SourceError
from bot.factory import make_source
from bot.ingest import posts
from bot.ingest.source import RemoteEntry, StatsSource
from bot.ops.diagnose import Listing, snapshot
from bot.ops.drift import (
    Difference,
    Kind,
    RemoteFile,
    ServerReport,
    compare,
)
from bot.ops.findings import TITLES, make_difference, plural

log = structlog.get_logger(__name__)

FULL_LISTING_EVERY = 6  # checks: with the default hour, an in-place rewrite is found within 6 hours
# Alerted elsewhere already: the poller alerts a server it cannot list (unreachable, or its folder
# missing), the importer each quarantined file.
NOT_ALERTED = frozenset(
    {Kind.REMOTE_UNREACHABLE, Kind.REMOTE_FOLDER_MISSING, Kind.REMOTE_NOT_CHECKED, Kind.QUARANTINED}
)
# Kinds told without the server's listing. The others (and any kind added later) need it: while the
# server cannot be listed they keep their alert and count, neither opened nor resolved.
WITHOUT_REMOTE = frozenset({Kind.IMPORTED_WITHOUT_ROUND, Kind.FAILED, Kind.QUARANTINED, Kind.STALE_ROUNDS})
# Work in flight looks like drift for a moment (a file listed but not yet settled, a download not yet
# recorded): a file counts for these kinds only when two checks in a row find it.
IN_FLIGHT = frozenset({Kind.REMOTE_UNPROCESSED, Kind.LOCAL_UNREGISTERED})
# Whether a server answers is the poll metrics' business (statsbot_poll_consecutive_failures).
NOT_COUNTED = frozenset({Kind.REMOTE_UNREACHABLE, Kind.REMOTE_FOLDER_MISSING, Kind.REMOTE_NOT_CHECKED})
SEVERITY = "warning"


class WatchHost(Protocol):
    """What the watch needs of the daemon (bot.app.App)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def db(self) -> Database | None: ...

    def source(self, server: str) -> StatsSource | None:
        """The daemon's open source of a server (shared with its poller), None when it has none."""
        ...


@dataclass(slots=True)
class _Listing:
    """The last full listing, packed (about 6 MB for 100,000 files instead of 25 MB as objects): it is
    kept between checks an hour apart, and unpacked only while a check runs."""

    dir_mtime: int | None
    names: str  # NUL-separated (a name never contains NUL)
    sizes: array[int]
    mtimes: array[int]
    checks_since_full: int = 0
    # SFTP mtimes have 1 s resolution: a change later in the second of a listing leaves the folder's mtime
    # as it was. A listing is trusted for cheap checks only once a later listing saw the same mtime.
    confirmed: bool = False

    @classmethod
    def pack(cls, dir_mtime: int | None, entries: Sequence[RemoteEntry]) -> _Listing:
        files = [e for e in entries if e.is_file]
        return cls(
            dir_mtime, "\0".join(f.name for f in files),
            array("q", (f.size for f in files)), array("q", (f.mtime for f in files)),
        )  # fmt: skip

    def unpack(self) -> dict[str, RemoteFile]:
        if not self.names:
            return {}
        names = self.names.split("\0")
        return {n: RemoteFile(n, s, m) for n, s, m in zip(names, self.sizes, self.mtimes, strict=True)}


@dataclass(slots=True)
class DriftWatch:
    """The scheduled comparison's memory between checks: the last listing and the in-flight candidates."""

    listings: dict[str, _Listing] = field(default_factory=dict)
    in_flight: dict[tuple[str, Kind], frozenset[str]] = field(default_factory=dict)
    wall: Callable[[], float] = time.time

    async def check(self, app: WatchHost) -> None:
        """Scheduler job: compare every enabled server; one failing server never stops the others."""
        if app.db is None:
            return
        for cfg in app.settings.enabled_servers:
            try:
                await self.check_server(app.db, app.settings, cfg, app.source(cfg.name))
            except Exception as exc:  # a bug or the database: logged per server, the job goes on
                log.exception("drift_check_failed", server=cfg.name, error=f"{type(exc).__name__}: {exc}")

    async def check_server(
        self, db: Database, settings: Settings, cfg: ServerConfig, source: StatsSource | None
    ) -> ServerReport:
        """One server: list (cheaply), compare, then record alerts, resolutions and counts at once."""
        own = source is None
        src = make_source(cfg, settings) if source is None else source
        try:
            remote, error, dir_missing = await self._remote(src, cfg)
        finally:
            if own:
                await src.close()
        # The same snapshot as `diagnose` (one source of truth for what counts as drift), from this
        # check's listing; unpacking the listing and comparing 100,000 files run in worker threads.
        files = None if remote is None else await asyncio.to_thread(remote.unpack)
        snap = await snapshot(
            db, cfg.name, local_root=settings.paths.local_stats, source=None,
            listing=Listing(files, error, dir_missing),
        )  # fmt: skip
        snap = dataclasses.replace(
            snap, address=(cfg.host, cfg.port), remote_dir=cfg.remote_dir,
            config_index=settings.servers.index(cfg),
        )  # fmt: skip
        report = await asyncio.to_thread(compare, snap)
        report = self._confirmed(report, remote is not None)
        await record(db, report, now=self.wall())
        return report

    async def _remote(
        self, source: StatsSource, cfg: ServerConfig
    ) -> tuple[_Listing | None, str | None, bool]:
        limit = cfg.connect_timeout_seconds + cfg.operation_timeout_seconds
        last = self.listings.get(cfg.name)
        try:
            mtime = await source.dir_mtime()
        except (SourceError, OSError) as exc:
            log.warning("drift_remote_unavailable", server=cfg.name, error=str(exc))
            return None, str(exc), isinstance(exc, RemoteDirMissing)
        unchanged = last is not None and mtime is not None and mtime == last.dir_mtime
        if last is not None and unchanged and last.confirmed:
            last.checks_since_full += 1
            if last.checks_since_full < FULL_LISTING_EVERY:
                return last, None, False
        try:
            async with asyncio.timeout(limit):
                entries = await source.list()
        except (SourceError, OSError, TimeoutError) as exc:
            self.listings.pop(cfg.name, None)
            reason = "timed out" if isinstance(exc, TimeoutError) else str(exc)
            log.warning("drift_remote_unavailable", server=cfg.name, error=reason)
            return None, reason, isinstance(exc, RemoteDirMissing)
        listing = await asyncio.to_thread(_Listing.pack, mtime, entries)  # 100,000 entries: off the loop
        listing.confirmed = unchanged
        self.listings[cfg.name] = listing
        return listing, None, False

    def _confirmed(self, report: ServerReport, listed: bool) -> ServerReport:
        """The report with in-flight kinds cut to the files the previous check found too."""
        kept: list[Difference] = []
        for diff in report.differences:
            if diff.kind not in IN_FLIGHT:
                kept.append(diff)
                continue
            key = (report.server, diff.kind)
            before = self.in_flight.get(key, frozenset())
            self.in_flight[key] = frozenset(diff.files)
            files = [f for f in diff.files if f in before]
            if files:
                errors = {f: e for f, e in diff.errors.items() if f in before}
                advice = _still(diff, len(files))
                kept.append(make_difference(diff.kind, files, matters=diff.matters, recommendation=advice,
                                            errors=errors))  # fmt: skip
        for kind in IN_FLIGHT:
            if report.difference(kind) is None and (kind in WITHOUT_REMOTE or listed):
                self.in_flight.pop((report.server, kind), None)
        return dataclasses.replace(report, differences=tuple(kept))


def _still(diff: Difference, count: int) -> str:
    if count == diff.count:
        return diff.recommendation
    return f"{diff.recommendation} ({count} of the {diff.count} were so at the previous check already)"


def alert_key(server: str, kind: Kind) -> str:
    return f"drift:{server}:{kind.value}"


def alert_message(server: str, diff: Difference) -> str:
    files = plural(diff.count, "file")
    return f"drift on {server}: {diff.title} — {files}, {diff.date_range}. {diff.recommendation}"


def _count(server: str, kind: Kind, diff: Difference | None, now: float) -> drift_counts.DriftCount:
    if diff is None:
        return drift_counts.DriftCount(server, kind.value, 0, None, None, now)
    # A kind without files (the remote folder empty) counts 1 while it is there.
    files = diff.count or 1
    return drift_counts.DriftCount(server, kind.value, files, diff.first_date, diff.last_date, now)


async def record(db: Database, report: ServerReport, *, now: float) -> None:
    """ONE transaction: open/resolve the drift alerts (their posts queued once) and replace the counts."""
    server = report.server
    evaluated = [k for k in Kind if k in WITHOUT_REMOTE or report.reachable]
    found = {d.kind: d for d in report.differences}
    async with db.transaction() as tx:
        for kind in evaluated:
            diff = found.get(kind)
            if kind in NOT_ALERTED or (diff is not None and not diff.matters):
                continue
            key = alert_key(server, kind)
            if diff is not None:
                message = alert_message(server, diff)
                if not await status.open_alert(tx, key, SEVERITY, message, now):
                    continue  # open already: a kind persisting is not news
                post_kind = posts.KIND_ALERT
            else:
                if not await status.resolve_alert(tx, key, now):
                    continue
                message = f"drift on {server} resolved: {TITLES[kind]} — no such file any more"
                post_kind = posts.KIND_ALERT_RESOLVED
            await outbox.enqueue(
                tx, kind=post_kind, channel="admin", dedupe_key=f"{post_kind}:{key}:{now:.6f}",
                payload=posts.alert_payload(key, SEVERITY, message), now=now,
            )  # fmt: skip
            log.warning("drift_alert", server=server, kind=kind.value, post=post_kind)
        counted = [k for k in evaluated if k not in NOT_COUNTED]
        await drift_counts.store(tx, [_count(server, kind, found.get(kind), now) for kind in counted])
