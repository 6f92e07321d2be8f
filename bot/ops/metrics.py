"""Prometheus text exposition of the database's counters, and the optional /healthz + /metrics HTTP server."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from aiohttp import web

from bot.db import drift_counts, ops_queries, status
from bot.db.connection import Reader
from bot.ops.health import HealthReport

log = structlog.get_logger(__name__)

HealthProbe = Callable[[], Awaitable[HealthReport]]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _line(name: str, value: float | int, **labels: str) -> str:
    if labels:
        inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
        return f"{name}{{{inner}}} {value}"
    return f"{name} {value}"


async def render_metrics(db: Reader, *, healthy: bool | None = None) -> str:
    """Prometheus text format 0.0.4. Read from the database, so they survive restarts and agree with it."""
    states = await ops_queries.state_counts(db)
    rounds = await ops_queries.round_counts(db)
    outbox = await ops_queries.outbox_counts(db)
    statuses = {st.server: st for st in await status.server_statuses(db)}
    servers = sorted({s for s, _ in states} | set(rounds) | set(statuses))
    out: list[str] = []

    def family(name: str, kind: str, help_text: str) -> None:
        out.extend((f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"))

    family("statsbot_files", "gauge", "Registry rows per server and state.")
    out += [_line("statsbot_files", n, server=s, state=st) for (s, st), n in sorted(states.items())]
    family("statsbot_files_imported_total", "counter", "Files imported per server.")
    out += [_line("statsbot_files_imported_total", states.get((s, "imported"), 0), server=s) for s in servers]
    family("statsbot_file_failures", "gauge", "Files failed (retrying) or quarantined per server.")
    for s in servers:
        bad = states.get((s, "failed"), 0) + states.get((s, "quarantined"), 0)
        out.append(_line("statsbot_file_failures", bad, server=s))
    family("statsbot_rounds", "gauge", "Imported rounds per server.")
    out += [_line("statsbot_rounds", rounds.get(s, 0), server=s) for s in servers]
    family("statsbot_poll_duration_seconds", "gauge", "Duration of the last poll cycle.")
    family("statsbot_poll_consecutive_failures", "gauge", "Failed polls since the last success.")
    family(
        "statsbot_last_successful_poll_timestamp_seconds", "gauge", "UTC epoch of the last successful poll."
    )
    for s, st in sorted(statuses.items()):
        if st.last_poll_seconds is not None:
            out.append(_line("statsbot_poll_duration_seconds", st.last_poll_seconds, server=s))
        out.append(_line("statsbot_poll_consecutive_failures", st.consecutive_failures, server=s))
        if st.last_success_at is not None:
            out.append(_line("statsbot_last_successful_poll_timestamp_seconds", st.last_success_at, server=s))
    family("statsbot_outbox_backlog", "gauge", "Posts waiting to be sent.")
    out.append(_line("statsbot_outbox_backlog", outbox.get("pending", 0)))
    family("statsbot_outbox_posts", "gauge", "Outbox rows per state.")
    out += [_line("statsbot_outbox_posts", n, state=st) for st, n in sorted(outbox.items())]
    drift = await drift_counts.all_counts(db)
    family("statsbot_drift_files", "gauge", "Files per kind of difference at the last drift check (0: none).")
    out += [_line("statsbot_drift_files", c.files, server=c.server, kind=c.kind) for c in drift]
    family("statsbot_drift_check_timestamp_seconds", "gauge", "UTC epoch of the last drift check per server.")
    checked: dict[str, float] = {}
    for c in drift:
        checked[c.server] = max(c.checked_at, checked.get(c.server, 0.0))
    out += [
        _line("statsbot_drift_check_timestamp_seconds", at, server=s) for s, at in sorted(checked.items())
    ]
    family("statsbot_open_alerts", "gauge", "Alerts opened and not resolved.")
    out.append(_line("statsbot_open_alerts", await ops_queries.open_alert_count(db)))
    if healthy is not None:
        family("statsbot_healthy", "gauge", "1 when every health check passes.")
        out.append(_line("statsbot_healthy", int(healthy)))
    return "\n".join(out) + "\n"


@dataclass(slots=True)
class HealthServer:
    """The running HTTP endpoint; `port` is the bound port (useful with port 0 in tests)."""

    runner: web.AppRunner
    port: int

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_health_server(db: Reader, probe: HealthProbe, *, host: str, port: int) -> HealthServer:
    """Serve GET /healthz (200 healthy / 503 not, JSON checks) and GET /metrics (Prometheus text)."""

    async def healthz(_request: web.Request) -> web.Response:
        report = await probe()
        status = 200 if report.healthy else 503
        return web.Response(text=json.dumps(report.to_json()), status=status, content_type="application/json")

    async def metrics(_request: web.Request) -> web.Response:
        report = await probe()
        text = await render_metrics(db, healthy=report.healthy)
        return web.Response(
            text=text, content_type="text/plain", charset="utf-8", headers={"X-Format": "0.0.4"}
        )

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = getattr(site, "_server", None)
    sockets = getattr(server, "sockets", None) or []
    bound = int(sockets[0].getsockname()[1]) if sockets else port
    log.info("health_server_started", host=host, port=bound)
    return HealthServer(runner, bound)
