"""The console sink: readable text summaries of each post on stdout (no Discord token configured)."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import structlog

from bot.chat import format as fmt
from bot.chat.errors import TransientSendError
from bot.chat.journal import ConsoleJournal
from bot.chat.sinks import Post

log = structlog.get_logger(__name__)


def _round(p: Mapping[str, Any]) -> list[str]:
    head = f"{fmt.round_title(p)} on {p['server']} · {fmt.when(str(p['played_at']))}"
    lines = [head, fmt.round_outcome(p)]
    note = fmt.round_note(p)
    if note:
        lines.append(note)
    if fmt.shown_flags(p):
        lines.append("flags: " + ", ".join(fmt.shown_flags(p)))
    lines.extend("  " + row for row in fmt.round_rows(p))
    return lines


def _match(p: Mapping[str, Any]) -> list[str]:
    lines = [f"Match {p['map']} on {p['server']}", fmt.match_outcome(p)]
    lines.extend("  " + row for row in fmt.top_rows(list(p.get("top_players") or [])))
    return lines


def _session(p: Mapping[str, Any]) -> list[str]:
    lines = [
        f"Session #{p['session_id']} on {p['server']} · {fmt.when(str(p['started_at']))} → "
        f"{fmt.when(str(p['ended_at']))}",
        f"{p['rounds']} rounds · maps: {', '.join(p.get('maps') or []) or fmt.DASH}",
        f"matches: {fmt.score_line(p.get('score') or {})}",
    ]
    lines.extend("  " + row for row in fmt.top_rows(list(p.get("best_players") or [])))
    return lines


def _alert(p: Mapping[str, Any], *, resolved: bool) -> list[str]:
    if resolved:
        return [f"RESOLVED {p['message']}  [{p['key']}]"]
    # The message already names the server and file; the key (for /quarantine retry etc.) goes last.
    return [f"ALERT [{p.get('severity', 'error')}] {p['message']}  [{p['key']}]"]


def render_text(post: Post) -> str:
    """The post as plain text; unknown kinds print their payload keys so nothing is silently lost."""
    p = post.payload
    if post.kind == "round":
        lines = _round(p)
    elif post.kind == "match":
        lines = _match(p)
    elif post.kind == "session":
        lines = _session(p)
    elif post.kind in ("alert", "alert_resolved"):
        lines = _alert(p, resolved=post.kind == "alert_resolved")
    else:
        lines = [f"{post.kind}: " + ", ".join(f"{k}={v}" for k, v in sorted(p.items()))]
    return "\n".join([f"── [{post.channel}] post {post.id} · {post.kind}", *lines, ""])


class ConsoleSink:
    """Prints posts, each exactly once: with a journal (bot/chat/journal.py) a post already printed is
    recognised by its nonce and not printed again, so `send` is idempotent and needs no reconcile."""

    reconciles = False

    def __init__(self, stream: TextIO | None = None, journal: Path | None = None) -> None:
        self._stream = stream
        self._journal = ConsoleJournal(journal) if journal is not None else None

    async def send(self, post: Post) -> str:
        message_id = f"console:{post.nonce}"
        if self._journal is not None:
            # Blocking on purpose (one small append + fsync per post): no await between the marker and the
            # print, so no cancellation can separate them, and a kill has the narrowest window.
            try:
                if not self._journal.is_open:
                    self._journal.open()
                printed = self._journal.printed(post.nonce)
                if not printed:
                    self._journal.record(post.nonce, post.id, time.time())
            except OSError as exc:  # disk full, permissions: nothing printed, retried with backoff
                raise TransientSendError(f"console journal {self._journal.path}: {exc}") from exc
            if printed:
                log.info("console_post_already_printed", post_id=post.id)
                return message_id
        stream = self._stream or sys.stdout  # looked up late so pytest's capsys sees the output
        stream.write(render_text(post) + "\n")
        stream.flush()
        return message_id

    async def recent_markers(self, channel: str) -> Mapping[str, str]:
        return {}

    async def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
