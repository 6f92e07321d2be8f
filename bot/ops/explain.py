"""`statsbot explain FILE`: one file's whole journey (registry, events, round, posts, local copy)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bot.db import ops_queries
from bot.db.connection import Reader
from bot.db.files import FileEvent, events_for
from bot.db.ops_queries import OutboxRef, RegistryRow, RoundRef
from bot.ops.diagnose import GZ_SUFFIX


@dataclass(frozen=True, slots=True)
class Journey:
    """Everything statsbot knows about one (server, file)."""

    server: str
    filename: str
    registry: RegistryRow | None
    round: RoundRef | None
    paired_with: RoundRef | None
    events: tuple[FileEvent, ...]
    posts: tuple[OutboxRef, ...]
    local_copy: Path | None


def split_file_argument(arg: str, local_stats: Path) -> tuple[str, str | None]:
    """`FILE` may be a bare name or a path under local_stats/<server>/: returns (name, server or None)."""
    path = Path(arg)
    name = path.name[: -len(GZ_SUFFIX)] if path.name.endswith(GZ_SUFFIX) else path.name
    if len(path.parts) > 1:
        try:
            rel = path.resolve().relative_to(local_stats.resolve())
        except ValueError:
            return name, None
        if len(rel.parts) == 2:
            return name, rel.parts[0]
    return name, None


def _local_copy(local_stats: Path, server: str, filename: str) -> Path | None:
    for candidate in (local_stats / server / filename, local_stats / server / (filename + GZ_SUFFIX)):
        if candidate.is_file():
            return candidate
    return None


async def explain(db: Reader, local_stats: Path, filename: str, server: str | None = None) -> list[Journey]:
    """The journey of `filename` on `server` (or on every server that knows it); empty if nobody does."""
    servers = {r.server for r in await ops_queries.registry_rows_named(db, filename, server)}
    servers |= {r.server for r in await ops_queries.rounds_named(db, filename, server)}
    if server is not None:
        servers.add(server)
    journeys: list[Journey] = []
    for srv in sorted(servers):
        rows = await ops_queries.registry_rows_named(db, filename, srv)
        rounds = await ops_queries.rounds_named(db, filename, srv)
        rnd = rounds[0] if rounds else None
        paired = None
        if rnd is not None and rnd.paired_round_id is not None:
            paired = await ops_queries.round_by_id(db, rnd.paired_round_id)
        events = tuple(await events_for(db, srv, filename))
        posts = tuple(await ops_queries.outbox_for_file(db, srv, filename))
        local = _local_copy(local_stats, srv, filename)
        if not rows and rnd is None and not events and local is None:
            continue
        journeys.append(Journey(srv, filename, rows[0] if rows else None, rnd, paired, events, posts, local))
    return journeys


def _ts(value: float | None) -> str:
    if value is None:
        return "-"
    return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _detail(detail: dict[str, Any]) -> str:
    return " ".join(
        f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in sorted(detail.items())
    )


def processed_check(j: Journey) -> str:
    """Which layer of the processed-check answers for this file now, and what the next listing does."""
    reg = j.registry
    if reg is None:
        if j.round is not None:
            return (
                "layer 4 (imported rounds): a round without a registry row; the next listing repairs it "
                "when the server's copy has the imported size (else: re-read, kept round, new version "
                "quarantined)"
            )
        return "no layer knows it: the next listing records it as seen and lets it settle"
    if reg.state == "imported":
        return "layer 1 (memory, imported): skipped on every listing, unless its size changes on the server"
    if reg.state in ("duplicate", "ignored"):
        return f"layer 1 (memory, {reg.state}): skipped on every listing"
    if reg.state == "quarantined":
        return (
            "layer 1 (memory, quarantined): skipped until its size or mtime changes on the server; "
            "`statsbot reprocess` imports a fixed copy"
        )
    if reg.state == "seen":
        return "layer 3 (processed_files, seen): settling; fetched once size and mtime hold still"
    if reg.state == "downloaded":
        saved = "layer 2 (local copy) saves the download" if j.local_copy else "no local copy: fetched again"
        return f"layer 3 (processed_files, downloaded): imported on the next cycle; {saved}"
    if reg.state == "failed":
        return f"layer 3 (processed_files, failed): retried from {_ts(reg.next_attempt_at)} UTC"
    return f"layer 3 (processed_files, {reg.state}): state unknown to this version, left alone"


def render_journey(j: Journey) -> str:
    """Plain text, oldest step first; times are UTC."""
    lines = [f"{j.filename} on server {j.server}", f"  processed-check: {processed_check(j)}"]
    reg = j.registry
    if reg is None:
        lines.append("  registry: no row (never listed, or forgotten by a repair)")
    else:
        lines.append(f"  registry: {reg.state} (attempts {reg.attempts}, updated {_ts(reg.updated_at)} UTC)")
        lines.append(f"            size {reg.size} mtime {reg.mtime} sha256 {reg.sha256 or '-'}")
        if reg.last_error:
            lines.append(f"            last error: {reg.last_error}")
        if reg.remote_gone_at is not None:
            by = {"retention": "deleted by retention", "operator": "deletion accepted by `registry repair`"}
            why = by.get(reg.remote_gone_by or "", "deleted by someone else than retention")
            lines.append(f"            gone from the server since {_ts(reg.remote_gone_at)} UTC ({why})")
        if reg.state == "failed" and reg.next_attempt_at is not None:
            lines.append(f"            next attempt: {_ts(reg.next_attempt_at)} UTC")
    if j.round is None:
        lines.append("  round: none imported from this file")
    else:
        r = j.round
        lines.append(
            f"  round: #{r.id} {r.map} round {r.round_number} played {r.played_at} status {r.status}"
            f" (imported {_ts(r.imported_at)} UTC)"
        )
        if j.paired_with is not None:
            lines.append(f"         paired with #{j.paired_with.id} {j.paired_with.filename}")
    lines.append(f"  local copy: {j.local_copy if j.local_copy is not None else 'none'}")
    lines.append("  history (UTC):")
    if not j.events:
        lines.append("    (no events recorded)")
    for ev in j.events:
        detail = _detail(ev.detail)
        lines.append(f"    {_ts(ev.at)}  {ev.event:<16} {detail}".rstrip())
    lines.append("  posts:")
    if not j.posts:
        lines.append("    (none)")
    for p in j.posts:
        sent = f"sent {_ts(p.sent_at)} message {p.message_id}" if p.state == "sent" else p.state
        error = f" last error: {p.last_error}" if p.last_error else ""
        what = f"{p.kind} for {p.subject}" + (" (correction)" if ":after:" in (p.dedupe_key or "") else "")
        lines.append(f"    #{p.id} {what} → {p.channel}: {sent} (attempts {p.attempts}){error}")
    return "\n".join(lines)


def journey_to_json(j: Journey) -> dict[str, Any]:
    reg = j.registry
    return {
        "server": j.server,
        "filename": j.filename,
        "registry": None if reg is None else asdict(reg),
        "round": None if j.round is None else asdict(j.round),
        "paired_with": None if j.paired_with is None else j.paired_with.filename,
        "local_copy": None if j.local_copy is None else str(j.local_copy),
        "events": [{"at": e.at, "event": e.event, "detail": e.detail} for e in j.events],
        "posts": [asdict(p) for p in j.posts],
        "processed_check": processed_check(j),
    }
