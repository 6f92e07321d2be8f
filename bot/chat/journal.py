"""The console's channel history: an append-only, fsynced journal of the posts it printed.

The Discord sink finds a post it may already have made by the nonce marker in the channel's history;
a terminal has no history, so the console sink keeps one: `<data_dir>/console.journal`, one line per
post (`<nonce> <outbox id> <unix time>`), appended and fsynced BEFORE the post is printed. A post whose
nonce is in the journal is never printed again: not after a SIGKILL between the print and the outbox
row being marked sent, nor when marking it sent fails (database disk full) and the drainer retries.
The window left is one `write` to stdout after the fsync: a kill exactly there leaves the post in the
journal but not on the terminal (never twice).
"""

from __future__ import annotations

import os
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

KEEP_LINES = 10_000  # a post can only be pending-and-journaled across one crash: the last few suffice
COMPACT_AT_LINES = 2 * KEEP_LINES


class ConsoleJournal:
    """Markers of printed posts, loaded once; `record` appends one durably."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: set[str] = set()
        self._fd: int | None = None

    def open(self) -> None:
        """Load the markers (compacting a long journal) and open it for appending. Blocking."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lines, torn = self._read()
        if len(lines) > COMPACT_AT_LINES or torn:  # a torn line would glue onto the next marker
            lines = lines[-KEEP_LINES:]
            self._rewrite(lines)
        self._seen = {line.split(" ", 1)[0] for line in lines if line}
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def printed(self, nonce: str) -> bool:
        return nonce in self._seen

    def record(self, nonce: str, post_id: int, now: float) -> None:
        """Append the marker and fsync it (OSError when the disk is full: the post is not printed)."""
        if self._fd is None:
            raise RuntimeError("ConsoleJournal.record before open()")
        os.write(self._fd, f"{nonce} {post_id} {now:.3f}\n".encode())
        os.fsync(self._fd)
        self._seen.add(nonce)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _read(self) -> tuple[list[str], bool]:
        """The complete lines, and whether a torn one (crash mid-append) follows them."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return [], False
        *lines, rest = text.split("\n")
        return lines, rest != ""

    def _rewrite(self, lines: list[str]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write("".join(line + "\n" for line in lines))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        log.info("console_journal_compacted", path=str(self.path), kept=len(lines))
