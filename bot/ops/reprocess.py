"""`statsbot reprocess`: replace a file's imported round in ONE transaction (parser fix, corrected file)."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import hashlib
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from bot.config import Settings
from bot.db import ops_queries, session_teams, sessions
from bot.db import rounds as dbrounds
from bot.db.connection import Database, Reader, Tx
from bot.db.files import add_event, set_state
from bot.errors import ParseError, SourceError
from bot.factory import import_settings, make_source
from bot.ingest import importer
from bot.ingest.files import safe_local_path
from bot.ingest.pairing_sync import ORPHAN_FLAG
from bot.ops.diagnose import GZ_SUFFIX
from bot.ops.explain import split_file_argument
from bot.stats.derived import duration_s
from bot.stats.parser import parse_round

log = structlog.get_logger(__name__)

SOURCES = ("stored", "local", "remote")
STAGING_SUFFIX = ".reprocess"


@dataclass(frozen=True, slots=True)
class Target:
    server: str
    filename: str


@dataclass(frozen=True, slots=True)
class ReprocessResult:
    server: str
    filename: str
    ok: bool
    state: str  # the file's state afterwards (unchanged when not ok)
    detail: str
    old_round_id: int | None = None
    new_round_id: int | None = None

    def line(self) -> str:
        head = f"{self.server}/{self.filename}: "
        if not self.ok:
            return head + f"NOT reprocessed: {self.detail}; nothing changed"
        if self.new_round_id is None:
            rounds = "no round"
        elif self.old_round_id is None:
            rounds = f"round #{self.new_round_id}, new: there was no round before"
        else:
            rounds = f"round #{self.old_round_id} replaced by #{self.new_round_id}"
        return head + f"{self.state} ({rounds}) {self.detail}".rstrip()


class _Rollback(Exception):
    """Raised inside the transaction to undo a reprocess whose new content does not import."""

    def __init__(self, outcome: importer.ImportOutcome) -> None:
        self.outcome = outcome
        super().__init__(outcome.error or outcome.state)


def _order(t: Target) -> tuple[str, str]:
    return (t.filename.rsplit("/", 1)[-1], t.server)  # chronological: round 1 before its round 2


async def select_targets(
    db: Reader,
    settings: Settings,
    *,
    files: Sequence[str] = (),
    map_name: str | None = None,
    since: dt.date | None = None,
    server: str | None = None,
) -> tuple[list[Target], list[str]]:
    """Resolve FILE arguments / --map / --since to (server, file) targets; problems reported, not raised."""
    targets: set[Target] = set()
    problems: list[str] = []
    for arg in files:
        name, inferred = split_file_argument(arg, settings.paths.local_stats)
        srv = server or inferred
        known = {r.server for r in await ops_queries.registry_rows_named(db, name, srv)}
        known |= {r.server for r in await ops_queries.rounds_named(db, name, srv)}
        if srv is None and len(known) == 1:
            srv = known.pop()
        elif srv is None and not known and len(settings.servers) == 1:
            srv = settings.servers[0].name
        if srv is None:
            why = "on several servers" if known else "unknown to the database"
            problems.append(f"{name}: {why}; name the server with --server")
            continue
        targets.add(Target(srv, name))
    if map_name is not None or since is not None:
        start = "0000-00-00 00:00:00" if since is None else f"{since.isoformat()} 00:00:00"
        rounds = await ops_queries.rounds_since(db, played_from=start, server=server, map_name=map_name)
        targets |= {Target(r.server, r.filename) for r in rounds}
    return sorted(targets, key=_order), problems


def _read_local(settings: Settings, t: Target) -> bytes | None:
    folder = settings.paths.local_stats / t.server
    for path in (folder / t.filename, folder / (t.filename + GZ_SUFFIX)):
        if path.is_file():
            data = path.read_bytes()
            return gzip.decompress(data) if path.name.endswith(GZ_SUFFIX) else data
    return None


def _staging(settings: Settings, t: Target) -> Path:
    # A fresh download waits beside the local copy and replaces it only once its import committed.
    return safe_local_path(settings.paths.local_stats, t.server, t.filename + STAGING_SUFFIX)


async def _content(db: Database, settings: Settings, t: Target, source: str) -> tuple[bytes, int | None]:
    """(bytes, remote mtime if known) from the chosen source; LookupError names what is missing."""
    old = await dbrounds.get_round_by_file(db, t.server, t.filename)
    if source == "stored" and old is not None:
        return await dbrounds.raw_content(db, old.id), None
    if source in ("stored", "local"):
        data = await asyncio.to_thread(_read_local, settings, t)
        if data is None:
            raise LookupError(
                "no stored content and no local copy" if source == "stored" else "no local copy"
            )
        return data, None
    src = make_source(settings.server(t.server), settings)
    try:
        entry = await src.stat(t.filename)
        if entry is None:
            raise LookupError("not on the server")
        got = await src.download(t.filename, _staging(settings, t), entry.size)
        return await asyncio.to_thread(got.path.read_bytes), entry.mtime
    finally:
        await src.close()


async def _detach_partner(tx: Tx, old: dbrounds.RoundRow) -> None:
    """Undo the old round's pair: its match goes, a paired round 2 falls back to raw values (pending)."""
    if old.paired_round_id is None:
        return
    await dbrounds.delete_match_of(tx, old.id)
    partner = await dbrounds.get_round(tx, old.paired_round_id)
    if partner is None:
        return
    if old.round_number == 2:
        await dbrounds.clear_partner(tx, partner.id, old.id)
        return
    # The round 2 holds values derived against the old round 1: restore its raw values. Re-importing the
    # round 1 then re-pairs and re-derives it (bot.ingest.pairing_sync) in this same transaction.
    r2 = parse_round(partner.filename, await dbrounds.raw_content(tx, partner.id))
    await dbrounds.replace_players(tx, partner.id, r2.players)
    await dbrounds.update_round(
        tx, partner.id, status="pending_r1", paired_round_id=None, duration_s=duration_s(r2),
        flags=partner.flag_set - {ORPHAN_FLAG}, player_count=len(r2.players),
    )  # fmt: skip


async def _rederive_sessions(tx: Tx, old: dbrounds.RoundRow | None, new_round_id: int | None) -> None:
    """The sessions the old and the new round belong to: their teams and scores derived again."""
    ids = {old.session_id} if old is not None else set()
    if new_round_id is not None:
        new = await dbrounds.get_round(tx, new_round_id)
        ids.add(new.session_id if new is not None else None)
    for session_id in sorted(i for i in ids if i is not None):
        if await sessions.get_session(tx, session_id) is not None:
            await session_teams.derive(tx, session_id)


async def reprocess_one(
    db: Database, settings: Settings, t: Target, *, source: str = "stored", now: float | None = None
) -> ReprocessResult:
    """Replace the file's round with a fresh import of its content, or change nothing and say why."""
    at = time.time() if now is None else now
    try:
        data, mtime = await _content(db, settings, t, source)
    except (LookupError, SourceError, OSError, gzip.BadGzipFile) as exc:
        return ReprocessResult(t.server, t.filename, False, "unchanged", str(exc))
    result = await _replace(db, settings, t, data, mtime, source=source, now=at)
    if source == "remote":
        staged = _staging(settings, t)
        if result.ok:  # the local copy now mirrors what is imported
            await asyncio.to_thread(os.replace, staged, staged.with_name(t.filename))
        else:
            await asyncio.to_thread(staged.unlink, True)
    return result


async def _replace(
    db: Database, settings: Settings, t: Target, data: bytes, mtime: int | None, *, source: str, now: float
) -> ReprocessResult:
    """ONE transaction: detach and delete the old round, import `data`; rolled back unless it imports."""
    sha = hashlib.sha256(data).hexdigest()
    try:
        async with db.transaction() as tx:
            old = await dbrounds.get_round_by_file(tx, t.server, t.filename)
            row = await ops_queries.registry_rows_named(tx, t.filename, t.server)
            if old is not None:
                await _detach_partner(tx, old)
                await ops_queries.delete_round(tx, old.id)
            if row:
                # The content is judged afresh, as a new version would be (the state machine's way out of
                # `imported`); the hash is forgotten so the importer imports instead of answering "already
                # done", and an open quarantine alert is resolved by the import (rolled back unless it is).
                await set_state(tx, t.server, t.filename, "downloaded", now=now, sha256=None, round_id=None)
            keep_mtime = mtime if mtime is not None else ((row[0].mtime or 0) if row else 0)
            outcome = await importer.import_in_transaction(
                tx, server=t.server, filename=t.filename, size=len(data), mtime=keep_mtime, data=data,
                sha256=sha, settings=import_settings(settings), now=now,
            )  # fmt: skip
            if outcome.state != "imported" and not (
                old is None and outcome.state in ("duplicate", "ignored")
            ):
                raise _Rollback(outcome)
            await _rederive_sessions(tx, old, outcome.round_id)
            detail = {
                "source": source, "old_round_id": old.id if old else None,
                "old_sha256": old.sha256 if old else None, "new_round_id": outcome.round_id, "sha256": sha,
            }  # fmt: skip
            await add_event(tx, t.server, t.filename, "reprocessed", detail, now)
    except _Rollback as rb:
        why = _rolled_back_reason(rb.outcome)
        return ReprocessResult(t.server, t.filename, False, "unchanged", why)
    except ParseError as exc:  # a stored partner round 2 no longer parses: leave everything as it was
        return ReprocessResult(t.server, t.filename, False, "unchanged", f"partner round: {exc}")
    log.info("file_reprocessed", server=t.server, file=t.filename, old_round=detail["old_round_id"],
             new_round=outcome.round_id)  # fmt: skip
    note = "same content, re-derived" if old is not None and old.sha256 == sha else "new content"
    old_id = old.id if old else None
    return ReprocessResult(t.server, t.filename, True, outcome.state, note, old_id, outcome.round_id)


def _rolled_back_reason(outcome: importer.ImportOutcome) -> str:
    # The outcome was rolled back with everything else: say what the import WOULD have done.
    error = f": {outcome.error}" if outcome.error else ""
    if outcome.state == "quarantined":
        return f"the content does not import (it would be quarantined{error})"
    if outcome.state == "failed":
        return f"the import failed{error} (retry later)"
    if outcome.state == "duplicate":
        return f"the content is already imported from another file{error}"
    return f"the import would end as {outcome.state}{error}"


async def reprocess(
    db: Database, settings: Settings, targets: Sequence[Target], *, source: str = "stored"
) -> list[ReprocessResult]:
    """Reprocess each target in chronological order, one transaction each."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    return [await reprocess_one(db, settings, t, source=source) for t in sorted(targets, key=_order)]
