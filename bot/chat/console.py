"""The console sink: readable text summaries of each post on stdout (no Discord token configured)."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import structlog

from bot.chat import format as fmt
from bot.chat import post_lines as lines
from bot.chat.errors import TransientSendError
from bot.chat.journal import ConsoleJournal
from bot.chat.sinks import Post

log = structlog.get_logger(__name__)


def _bold(text: str) -> str:
    return text.replace("**", "")  # the console has no markdown


def _table(title: str, table: list[str]) -> list[str]:
    return [f"  {title}", *(f"    {row}" for row in table)]


def _round(p: Mapping[str, Any]) -> list[str]:
    out = [
        f"{lines.round_title(p)} on {p['server']} · {fmt.when(str(p['played_at']))}",
        lines.round_outcome(p),
    ]
    out += [x for x in (lines.round_note(p), lines.objectives_line(p)) if x]
    out += [f"* {n}" for n in p.get("notes") or []]
    for title, table in lines.round_blocks(p):
        out += _table(title, table)
    return out


def _match(p: Mapping[str, Any]) -> list[str]:
    out = [f"{p['map']} — match on {p['server']}", *_bold(lines.match_headline(p)).split("\n")]
    out += [f"* {n}" for n in p.get("notes") or []]
    for title, table in lines.match_teams(p):
        out += _table(title, table)
    top = list(p.get("top_players") or [])
    if top:
        out.append("  Top performers")
        out += [f"    {i}. {lines.performer(pl)}" for i, pl in enumerate(top, 1)]
    return out


def session_text(p: Mapping[str, Any]) -> list[str]:
    """A session summary as console lines (the console post and `statsbot session show`)."""
    maps = list(p.get("maps") or [])
    out = [
        f"Session #{p['session_id']} on {p['server']} · {fmt.when(str(p['started_at']))} → "
        f"{fmt.when(str(p['ended_at']))[-5:]}",
        lines.session_title(p),
        lines.session_counts(p),
    ]
    out += [f"  {i}. {_bold(lines.session_map_line(p, m))}" for i, m in enumerate(maps, 1)]
    mvp = lines.mvp_line(p)
    if mvp:
        out.append(_bold(mvp))
    out += [f"* {n}" for n in p.get("notes") or []]
    awards = lines.award_lines(p)
    if awards:
        out.append("  Awards")
        out += [f"    {_bold(a)}" for a in awards]
    for title, table in lines.session_teams(p):
        out += _table(title, table)
    return out


def _alert(p: Mapping[str, Any], *, resolved: bool) -> list[str]:
    if resolved:
        return [f"RESOLVED {p['message']}  [{p['key']}]"]
    # The message already names the server and file; the key (for /quarantine retry etc.) goes last.
    return [f"ALERT [{p.get('severity', 'error')}] {p['message']}  [{p['key']}]"]


def render_text(post: Post) -> str:
    """The post as plain text; unknown kinds print their payload keys so nothing is silently lost."""
    p = post.payload
    if post.kind == "round":
        text = _round(p)
    elif post.kind == "match":
        text = _match(p)
    elif post.kind == "session":
        text = session_text(p)
    elif post.kind in ("alert", "alert_resolved"):
        text = _alert(p, resolved=post.kind == "alert_resolved")
    else:
        text = [f"{post.kind}: " + ", ".join(f"{k}={v}" for k, v in sorted(p.items()))]
    head = f"── [{post.channel}] post {post.id} · {post.kind}"
    if post.corrects is not None:
        head += f" · CORRECTION: replaces post {post.corrects} above"
    return "\n".join([head, *text, ""])


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

    async def edit(self, post: Post, message_id: str) -> str:
        """A terminal cannot change what it printed: the correction is printed, marked as one."""
        await self.send(post)
        return message_id

    async def notice(self, text: str) -> None:
        """Print an admin notice directly: no outbox, no journal (bot/ops/db_refused.py)."""
        stream = self._stream or sys.stdout
        stream.write(f"── [admin] notice\n{text}\n\n")
        stream.flush()

    async def recent_markers(self, channel: str) -> Mapping[str, str]:
        return {}

    async def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
