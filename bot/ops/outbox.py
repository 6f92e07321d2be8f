"""Dead-lettered posts: list them and put them back in the queue once the cause is fixed."""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from bot.db import ops_queries
from bot.db.connection import Database, Reader
from bot.db.ops_queries import OutboxRef

log = structlog.get_logger(__name__)


async def list_dead(db: Reader) -> list[OutboxRef]:
    """Dead posts, newest first, with the error that stopped each."""
    return await ops_queries.dead_posts(db)


async def retry_dead(db: Database, ids: Iterable[int] | None = None) -> list[int]:
    """Re-queue dead posts (all when `ids` is None) in one transaction; the drainer picks them up."""
    async with db.transaction() as tx:
        requeued = await ops_queries.requeue_dead_posts(tx, None if ids is None else list(ids))
    if requeued:
        log.info("outbox_requeued", ids=requeued)
    return requeued
