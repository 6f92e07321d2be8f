"""`statsbot sync --restore-local`: bring back missing local copies, from the server or from the raw
content stored with the round (verified against its sha256), importing nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path

from bot.db import remote_files
from bot.db.connection import Database
from bot.db.files import add_event
from bot.errors import SourceError
from bot.ingest.files import PartFile, safe_local_path
from bot.ingest.source import StatsSource
from bot.ops.drift import DONE_STATES, ServerSnapshot, file_date

FROM_SERVER = "server"
FROM_STORED = "stored content"


def _order(name: str) -> str:
    return name.rsplit("/", 1)[-1]


def restore_candidates(snap: ServerSnapshot, since: dt.date | None) -> list[tuple[str, str]]:
    """(name, origin) of each processed file with no local copy (pure): downloaded from the server when it
    still lists the file, else written from the stored content of its round. The one selection both
    `--dry-run` and the run use."""
    done = {n for n, r in snap.registry.items() if r.state in DONE_STATES} | set(snap.rounds)
    picked: list[tuple[str, str]] = []
    for name in sorted(done, key=_order):
        if name in snap.local or (since is not None and (file_date(name) or "") < since.isoformat()):
            continue
        if snap.remote is not None and name in snap.remote:
            picked.append((name, FROM_SERVER))
        elif name in snap.rounds:
            picked.append((name, FROM_STORED))
    return picked


def _write(server: str, dest: Path, data: bytes) -> None:
    with PartFile(server, dest) as part:  # .part, fsync, rename: never a half-written copy
        part.write(data)
        part.commit()


async def restore_one(
    db: Database, snap: ServerSnapshot, source: StatsSource, local_stats: Path, name: str, origin: str,
    clock: Callable[[], float],
) -> tuple[str, str]:  # fmt: skip
    """Restore one copy; returns (outcome, detail). Kept only when its content is the imported content."""
    server = snap.server
    expected = snap.rounds[name].sha256 if name in snap.rounds else snap.registry[name].sha256
    dest = safe_local_path(local_stats, server, name)
    if origin == FROM_SERVER:
        assert snap.remote is not None
        try:
            got = await source.download(name, dest, snap.remote[name].size)
        except SourceError as exc:
            return "error", str(exc)
        if expected is not None and got.sha256 != expected:
            await asyncio.to_thread(dest.unlink, True)
            if name not in snap.rounds:
                return "error", "server copy differs from the imported one"
            origin = FROM_STORED  # the server's copy changed: the imported bytes are in the database
    if origin == FROM_STORED:
        stored = await remote_files.stored_content(db, server, name)
        if stored is None:
            return "error", "no stored content (the round is gone)"
        if not stored.intact:
            return "error", "stored content does not match its recorded sha256: not written"
        await asyncio.to_thread(_write, server, dest, stored.data)
    async with db.transaction() as tx:  # the journey shows where the local copy came back from
        await add_event(
            tx, server, name, "local_restored", {"sha256": expected, "via": f"sync ({origin})"}, clock()
        )
    return "restored", f"from the {origin}, sha256 verified"
