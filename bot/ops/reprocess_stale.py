"""`statsbot reprocess --stale`: re-derive every round an older parser version made, page by page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import structlog

from bot.config import Settings
from bot.db import stale_rounds
from bot.db.connection import Database
from bot.db.stale_rounds import StaleRound
from bot.ops.reprocess import ReprocessResult, Target, reprocess_one
from bot.stats.version import PARSER_VERSION

log = structlog.get_logger(__name__)

BATCH = 200  # rounds read per query; each round is still its own transaction


@dataclass(frozen=True, slots=True)
class StaleProgress:
    """Where a run is: after each batch (and once at the start, with done = 0)."""

    done: int
    total: int
    failed: int


@dataclass(slots=True)
class StaleRun:
    """What a run did; `failed` keeps the rounds left as they were (still stale), with the reason."""

    total: int
    version: int
    reprocessed: int = 0
    failed: list[ReprocessResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        if not self.total:
            return f"no stale rounds: every round was made by parser version {self.version}"
        text = (
            f"reprocessed {self.reprocessed} of {self.total} stale rounds (now parser version {self.version})"
        )
        if self.failed:
            text += f"; {len(self.failed)} not reprocessed (left as they were, listed above)"
        return text


async def reprocess_stale(
    db: Database,
    settings: Settings,
    *,
    server: str | None = None,
    batch: int = BATCH,
    version: int = PARSER_VERSION,
    on_progress: Callable[[StaleProgress], None] | None = None,
) -> StaleRun:
    """Reprocess (from the stored raw content) every round with parser_version < `version`, in play order.

    Each round is one transaction (bot.ops.reprocess): an interrupted run keeps what it finished and the
    next run picks up the rest. A round that does not reprocess stays stale and is reported, not retried.
    """
    run = StaleRun(await stale_rounds.count_stale(db, version, server), version)
    report = on_progress or (lambda _p: None)
    report(StaleProgress(0, run.total, 0))
    done = 0
    async for page in _pages(db, version, server, batch):
        for rnd in page:
            result = await reprocess_one(db, settings, Target(rnd.server, rnd.filename), source="stored")
            done += 1
            if result.ok:
                run.reprocessed += 1
            else:
                run.failed.append(result)
                log.warning("stale_round_not_reprocessed", server=rnd.server, file=rnd.filename,
                            reason=result.detail)  # fmt: skip
        report(StaleProgress(done, max(run.total, done), len(run.failed)))
    log.info("stale_rounds_reprocessed", total=run.total, reprocessed=run.reprocessed, failed=len(run.failed),
             parser_version=version)  # fmt: skip
    return run


async def list_stale(
    db: Database, *, server: str | None = None, batch: int = BATCH, version: int = PARSER_VERSION
) -> list[StaleRound]:
    """The stale rounds in play order (the dry run)."""
    found: list[StaleRound] = []
    async for page in _pages(db, version, server, batch):
        found += page
    return found


async def _pages(
    db: Database, version: int, server: str | None, batch: int
) -> AsyncIterator[list[StaleRound]]:
    after: tuple[str, str, str] | None = None
    while True:
        page = await stale_rounds.stale_page(db, version, after=after, limit=batch, server=server)
        if not page:
            return
        yield page
        after = page[-1].position
