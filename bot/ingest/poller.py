"""One poll cycle for one server: cheap listing, registry check, settle gate, bounded downloads, import."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from bot.db.connection import Database
from bot.errors import ParseError, SourceError
from bot.ingest import files as localfiles
from bot.ingest.fetch import Fetcher
from bot.ingest.import_crash import record_import_crash
from bot.ingest.importer import ImportOutcome, ImportSettings, import_file
from bot.ingest.order import AwaitedRound1, ImportOrder
from bot.ingest.poll_health import PollHealth
from bot.ingest.registry import Candidate, Plan, Registry
from bot.ingest.settle import SettleGate
from bot.ingest.source import ChangeLister, RemoteEntry, StatsSource
from bot.stats.names import parse_filename

log = structlog.get_logger(__name__)

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class PollerConfig:
    server: str
    full_listing_seconds: float = 300.0
    max_parallel_downloads: int = 2
    unreachable_alert_polls: int = 3
    recursive: bool = False


@dataclass(slots=True)
class CycleResult:
    """What one cycle did; `ok` is False when the server could not be reached or listed."""

    server: str
    ok: bool = True
    listed: bool = False
    complete: bool = False  # the listing held every entry (not only those changed since the last one)
    entries: int = 0
    settling: int = 0
    downloaded: int = 0
    states: dict[str, str] = field(default_factory=dict)  # filename -> state after import
    error: str | None = None
    local_error: bool = False  # the error is our own disk's (local_stats/), not the server's
    seconds: float = 0.0


def name_problem(name: str, *, recursive: bool = False) -> str | None:
    """Why a listed name is refused (hostile or not a stats-directory name), or None when acceptable."""
    if not recursive and "/" in name:
        return "name contains a path separator"
    reason = localfiles.unsafe_relpath_reason(name)  # every part: '..', NUL, control chars, not UTF-8
    if reason is not None:
        return reason
    try:
        parse_filename(name.rsplit("/", 1)[-1])
    except ParseError as exc:
        return exc.reason
    return None


class Poller:
    """Polls one server. The caller serialises cycles (APScheduler max_instances=1)."""

    def __init__(
        self,
        *,
        db: Database,
        source: StatsSource,
        registry: Registry,
        gate: SettleGate,
        config: PollerConfig,
        import_settings: ImportSettings,
        local_stats: Path,
        on_import: Callable[[], None] | None = None,
        monotonic: Clock = time.monotonic,
        wall: Clock = time.time,
    ) -> None:
        self._db = db
        self._source = source
        self._registry = registry
        self._gate = gate
        self._cfg = config
        self._import_settings = import_settings
        self._on_import = on_import
        self._mono = monotonic
        self._wall = wall
        self._health = PollHealth(db, config.server, config.unreachable_alert_polls)
        self._local_dir = local_stats / config.server
        self._fetcher = Fetcher(
            db=db, source=source, registry=registry, gate=gate, local_stats=local_stats,
            parallel=config.max_parallel_downloads, wall=wall,
        )  # fmt: skip
        self._listed_mtime: int | None = None
        self._confirm_after: float | None = None  # relist until a listing starts at/after this (monotonic)
        self._last_full: float | None = None
        self._cursor: int | None = None  # a ChangeLister's cursor after a listing was taken in
        self._valid: set[str] = set()
        self._rejected: set[str] = set()
        self._waiting: dict[str, float] = {}
        self._order = ImportOrder(gate, monotonic=monotonic)
        self._stopping = False
        self._inflight: asyncio.Future[ImportOutcome] | None = None

    @property
    def server(self) -> str:
        return self._cfg.server

    @property
    def gate(self) -> SettleGate:
        return self._gate

    def stop(self) -> None:
        """Finish the import in progress, start nothing new."""
        self._stopping = True

    @property
    def holding(self) -> int:
        """Downloaded files waiting for an earlier file of the server to settle."""
        return self._order.held

    async def import_held(self) -> CycleResult:
        """Import the held files now, whatever is still settling before them (`once` ends: it would
        otherwise leave them for good behind a file that keeps changing). Never raises."""
        self._order.stop_holding()
        return await self._guarded(lambda result: self._process(Plan(), result))

    def awaited(self) -> frozenset[str]:
        """Names listed on the server and not imported (or otherwise final) yet."""
        return self._order.awaited()

    def awaited_round1(self) -> AwaitedRound1:
        """The round 1 files among them, by map (a live index: read it, never keep it)."""
        return self._order.awaited_round1()

    async def wait_idle(self) -> None:
        """Wait for an import whose caller was cancelled (shutdown) to commit or roll back."""
        inflight = self._inflight
        if inflight is not None and not inflight.done():
            await asyncio.wait([inflight])

    async def poll(self) -> CycleResult:
        """One cycle. Never raises for a source failure: it is recorded, alerted after N in a row."""
        result = await self._guarded(self._cycle)
        listing = result.entries if result.listed and result.complete else None  # a folder's size
        await self._health.record(
            result.ok, result.error, listing, result.seconds, now=self._wall(),
            local=result.local_error, wrote=result.downloaded > 0 or not result.settling,
        )  # fmt: skip
        return result

    async def recheck(self) -> CycleResult:
        """Between cycles: stat only the settling files whose quiet period has passed, then fetch and
        import those that settled. No directory stat, no listing, no server_status row: that is the
        cycle's job. Never raises; a failure is logged and left to the next cycle."""
        return await self._guarded(self._recheck)

    async def _guarded(self, body: Callable[[CycleResult], Awaitable[None]]) -> CycleResult:
        started = self._mono()
        result = CycleResult(self.server)
        structlog.contextvars.bind_contextvars(server=self.server)
        try:
            await body(result)
        except localfiles.LocalWriteError as exc:  # a SourceError by type, but the server is not to blame
            result.ok = False
            result.local_error = True
            result.error = (
                f"local disk at {self._local_dir}: {exc.reason} (server {self.server} itself answered)"
            )
            log.error("local_write_failed", path=str(self._local_dir), error=exc.reason)
        except SourceError as exc:
            result.ok = False
            result.error = str(exc)
            log.warning("poll_failed", error=str(exc), kind=type(exc).__name__)
        except Exception as exc:  # a bug or a local failure (disk, database): logged, counted, never fatal
            result.ok = False
            result.error = f"{type(exc).__name__}: {exc}"
            log.exception("poll_crashed", error=result.error)
        finally:
            structlog.contextvars.unbind_contextvars("server")
        result.seconds = self._mono() - started
        return result

    async def _cycle(self, result: CycleResult) -> None:
        started = self._mono()
        dir_mtime = await self._source.dir_mtime()
        stat_done = self._mono()
        full_due = self._last_full is None or started - self._last_full >= self._cfg.full_listing_seconds
        changed = dir_mtime is None or dir_mtime != self._listed_mtime
        if full_due or changed or self._confirm_after is not None:
            if changed:
                # SFTP mtimes have 1 s resolution: a file added later within the same second leaves the
                # directory mtime unchanged. Listing again once a full second has passed since this stat
                # (the next cycle for poll intervals >= 1 s) catches it; remote time is never compared.
                self._confirm_after = stat_done + 1.0
            elif self._confirm_after is not None and started >= self._confirm_after:
                self._confirm_after = None
            # Until this listing succeeds the folder counts as never listed: after a failure every cycle
            # lists again (and fails visibly) instead of taking the unchanged folder for seen and healthy.
            # A listing counts once its new rows are recorded too (a full database disk fails that part).
            self._listed_mtime = None
            entries, complete, cursor = await self._list(full=full_due)
            result.listed, result.complete = True, complete
            result.entries = len(entries)
            if complete:
                accepted = self._accept(entries)
                plan = await self._registry.plan(accepted, now=self._wall(), complete=True)
                self._waiting = plan.waiting
                self._order.listed(accepted, plan)
            else:
                # Only what changed was listed (never taken for deletions: only complete listings are).
                # The files still settling (or due for a retry) that did not change are looked at by
                # stat, as between listings.
                listed = {e.name for e in entries}
                pending = await self._stat_pending(skip=listed)
                plan = await self._registry.plan([*self._accept(entries), *pending], now=self._wall())
                self._waiting.update(plan.waiting)
                self._order.seen(plan)
            self._listed_mtime = dir_mtime
            if full_due:
                self._last_full = started
        else:
            plan = await self._registry.plan(await self._stat_pending(), now=self._wall())
            self._waiting.update(plan.waiting)
        await self._process(plan, result)
        if result.listed:
            self._cursor = cursor  # only now: a cycle that failed on the way lists in full next time

    async def _list(self, *, full: bool) -> tuple[list[RemoteEntry], bool, int | None]:
        """(entries, complete, cursor): only what changed since the last listing where the source can
        tell (SSH exec + find), in full every `full_listing_seconds` and after any failed cycle."""
        since, self._cursor = (None if full else self._cursor), None
        if isinstance(self._source, ChangeLister):
            changes = await self._source.list_changed(since)
            if changes is not None:
                return changes.entries, changes.complete, changes.cursor
        return await self._source.list(), True, None

    async def _recheck(self, result: CycleResult) -> None:
        due = self._gate.due()
        if self._stopping or not due:
            result.settling = len(self._gate)
            return
        plan = await self._registry.plan(await self._stat(due), now=self._wall())
        self._waiting.update(plan.waiting)
        # A name the registry rules out (done, or failed and waiting for its retry) is not settling: left
        # in the gate it would stay due and be looked at again at once.
        kept = {c.entry.name for c in (*plan.settle, *plan.fetch, *plan.import_local)}
        self._gate.forget_all(n for n in due if n not in kept)
        await self._process(plan, result)

    async def _process(self, plan: Plan, result: CycleResult) -> None:
        ready = self._settle(plan)
        result.settling = len(self._gate)
        if self._stopping:
            return
        got = await self._fetcher.fetch(ready)
        result.downloaded = got.downloaded
        await self._import_all(got.fetched, plan.import_local, result)
        if got.failure is not None:
            raise got.failure

    def _accept(self, entries: list[RemoteEntry]) -> list[RemoteEntry]:
        """Regular files with acceptable names; each new name is checked once, rejections reported once."""
        accepted: list[RemoteEntry] = []
        for entry in entries:
            name = entry.name
            if not entry.is_file or name in self._rejected:
                continue
            if name not in self._valid and not self._registry.is_done(name, entry.size, entry.mtime):
                reason = name_problem(name, recursive=self._cfg.recursive)
                if reason is not None:
                    self._rejected.add(name)
                    log.warning("remote_name_rejected", file=repr(name), reason=reason)
                    continue
                self._valid.add(name)
            accepted.append(entry)
        return accepted

    async def _stat_pending(self, skip: set[str] | frozenset[str] = frozenset()) -> list[RemoteEntry]:
        """Between listings: stat one by one the few files still settling or due for a retry."""
        now = self._wall()
        names = self._gate.pending() + [n for n, at in self._waiting.items() if at <= now]
        return await self._stat([n for n in names if n not in skip])

    async def _stat(self, names: list[str]) -> list[RemoteEntry]:
        found: list[RemoteEntry] = []
        for name in dict.fromkeys(names):
            entry = await self._source.stat(name)
            if entry is None or not entry.is_file:
                self._gate.forget(name)  # vanished: its registry row stays (never purge on absence)
                self._waiting.pop(name, None)
                self._order.gone(name)
            else:
                found.append(entry)
        return found

    def _settle(self, plan: Plan) -> list[Candidate]:
        ready = list(plan.fetch)
        for cand in plan.settle:
            e = cand.entry
            if self._gate.observe(e.name, e.size, e.mtime):
                ready.append(cand)
        for cand in ready:
            self._waiting.pop(cand.entry.name, None)
        return ready

    async def _import_all(
        self, fetched: list[Candidate], local: list[Candidate], result: CycleResult
    ) -> None:
        """Chronologically, and never before an earlier listed file that has not settled (ImportOrder)."""
        for cand in self._order.queue(fetched, local):
            if self._stopping:
                return
            if not self._order.admit(cand):
                continue
            try:
                state = await self._import_one(cand)
            except Exception as exc:  # not the file's content (that is an outcome): a bug or the database
                state = await self._record_unexpected(cand, exc)
            result.states[cand.entry.name] = state
            self._order.imported(cand.entry.name, state)
        self._order.log_held()

    async def _record_unexpected(self, cand: Candidate, exc: Exception) -> str:
        """One file's unexpected import error is recorded for that file; the cycle goes on with the rest."""
        self._inflight = None
        crash = await record_import_crash(
            self._db, self.server, cand, exc, now=self._wall(), settings=self._import_settings
        )
        self._gate.forget(cand.entry.name)
        if crash.retry_at is None:
            self._registry.memory.set(
                self.server, cand.entry.name, cand.entry.size, cand.entry.mtime, crash.state
            )
        else:
            self._waiting[cand.entry.name] = crash.retry_at
        return crash.state

    async def _import_one(self, cand: Candidate) -> str:
        entry, path = cand.entry, cand.local
        assert path is not None
        data = await asyncio.to_thread(path.read_bytes)
        if len(data) != entry.size:  # the local copy is not what was listed: fetch it again later
            self._gate.restart(entry.name)
            return "seen"
        # A commit is never cancelled halfway: shutdown waits for this task instead.
        task = asyncio.ensure_future(
            import_file(
                self._db, server=self.server, filename=entry.name, size=entry.size, mtime=entry.mtime,
                data=data, sha256=hashlib.sha256(data).hexdigest(), settings=self._import_settings,
                now=self._wall(), awaited_round1=self._order.awaited_round1(),
            )
        )  # fmt: skip
        self._inflight = task
        outcome = await asyncio.shield(task)
        self._inflight = None
        self._gate.forget(entry.name)
        self._registry.memory.set(self.server, entry.name, entry.size, entry.mtime, outcome.state)
        if self._registry.is_done(entry.name, entry.size, entry.mtime):
            self._valid.discard(entry.name)  # the memory layer answers for it from now on
        if outcome.state == "failed":
            self._waiting[entry.name] = self._wall() + self._import_settings.retry_base_seconds
        log.info("file_processed", file=entry.name, state=outcome.state, error=outcome.error)
        if self._on_import is not None:
            self._on_import()
        return outcome.state
