"""Render a diagnose report: a readable terminal table, or JSON-ready values (pure)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.ops.diagnose import DiagnoseReport
from bot.ops.drift import Difference, ServerReport

MAX_FILES_SHOWN = 10


def difference_to_json(diff: Difference) -> dict[str, Any]:
    return {
        "kind": diff.kind.value,
        "title": diff.title,
        "count": diff.count,
        "first_date": diff.first_date,
        "last_date": diff.last_date,
        "matters": diff.matters,
        "recommendation": diff.recommendation,
        "files": list(diff.files),
        "errors": dict(diff.errors),
    }


def server_to_json(rep: ServerReport) -> dict[str, Any]:
    c = rep.counts
    return {
        "server": rep.server,
        "reachable": rep.reachable,
        "remote_error": rep.remote_error,
        "healthy": rep.healthy,
        "counts": {
            "remote": c.remote,
            "local": c.local,
            "local_compressed": c.local_compressed,
            "registry": dict(c.registry),
            "registry_total": c.registry_total,
            "rounds": c.rounds,
        },
        "differences": [difference_to_json(d) for d in rep.differences],
        "recommendations": [d.recommendation for d in rep.differences],
    }


def report_to_json(report: DiagnoseReport) -> dict[str, Any]:
    """The --json form: every file of every difference, nothing abbreviated."""
    return {
        "generated_at": _iso(report.generated_at),
        "healthy": report.healthy,
        "refused": report.refused,
        "servers": [server_to_json(s) for s in report.servers],
    }


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_server(rep: ServerReport, *, max_files: int = MAX_FILES_SHOWN) -> list[str]:
    c = rep.counts
    remote = "unknown" if c.remote is None else str(c.remote)
    local = f"{c.local}" + (f" ({c.local_compressed} gz)" if c.local_compressed else "")
    lines = [f"server {rep.server}"]
    if not rep.reachable:
        lines.append(f"  remote unknown: {rep.remote_error or 'unreachable'}")
    header = f"  {'remote':>10}  {'local_stats':>14}  {'registry':>10}  {'rounds':>8}"
    lines += [header, f"  {remote:>10}  {local:>14}  {c.registry_total:>10}  {c.rounds:>8}"]
    by_state = ", ".join(f"{state} {n}" for state, n in c.registry.items()) or "empty"
    lines.append(f"  registry by state: {by_state}")
    if not rep.differences:
        lines.append(f"  {agreement(rep)}")
        return lines
    lines.append("  differences:")
    for diff in rep.differences:
        mark = "!" if diff.matters else " "
        if not diff.files:  # about the server itself (unreachable, empty folder): no file count
            lines.append(f"  {mark} {diff.title}")
            continue
        lines.append(f"  {mark} {diff.title:<42} {diff.count:>6}  {diff.date_range}")
        for name in diff.files[:max_files]:
            error = diff.errors.get(name)
            lines.append(f"        {name}" + (f"  — {error}" if error else ""))
        if diff.count > max_files:
            lines.append(f"        … and {diff.count - max_files} more (--json lists all)")
    lines.append("  recommendations:")
    lines += [f"  - {d.recommendation}" for d in rep.differences]
    return lines


def agreement(rep: ServerReport) -> str:
    """The verdict line when no difference was found: "agree" only when the four counts are equal."""
    c = rep.counts
    if c.remote is not None and c.remote == c.local == c.registry_total == c.rounds:
        return "no differences: all four locations agree"
    # Rows with no round of their own (duplicates, ignored companions) make the counts differ legitimately.
    extra = ", ".join(f"{n} {state}" for state, n in c.registry.items() if state != "imported")
    why = f" (the registry also holds {extra}: files with no round of their own)" if extra else ""
    return f"no difference needs action, but the counts differ{why}"


def render_text(report: DiagnoseReport, *, max_files: int = MAX_FILES_SHOWN) -> str:
    """The terminal table: per server the four counts, then each difference, then what to do."""
    lines = [f"statsbot diagnose — {_iso(report.generated_at)}"]
    if report.refused is not None:
        lines += [
            "",
            "! DATABASE REFUSED: `run`, `once`, `sync` and every command that writes refuse it until the "
            "loss is dealt with; the recommendations below apply after that (`sync --accept-data-loss`).",
            f"  {report.refused}",
        ]
    if not report.servers:
        lines.append("no servers configured and nothing in the database")
    for rep in report.servers:
        lines.append("")
        lines += render_server(rep, max_files=max_files)
    lines.append("")
    lines.append("overall: OK" if report.healthy else "overall: ATTENTION (lines marked ! need action)")
    return "\n".join(lines) + "\n"
