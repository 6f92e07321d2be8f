"""Listing a remote folder with ONE `find` over SSH exec: the command, its probe, and parsing its output.

Why: an SFTP listing of 100,000 names costs seconds of asyncssh decoding on the client (an SFTPName and
SFTPAttrs object per name, measured ~25 µs each) on every change of the folder. `find -printf` sends
the same facts as one NUL-separated text that splits in C, and `-newerct @cursor` returns only the
entries created or changed since the previous listing, so a change of a 100,000-file folder costs one
small reply instead of a full listing (docs/BENCHMARKS.md "Latency").

The cursor is the SERVER's own clock (`date +%s` printed by the same command before `find` runs) and
it is only ever compared with the server's own ctimes: the local clock is never involved. ctime, not
mtime: a file copied in with an old preserved mtime (`cp -p`, `rsync -t`) still gets a fresh ctime,
and ctime cannot be set back by `touch`. One second of slack covers the whole-second cursor.

Accounts restricted to `internal-sftp` (or without GNU find) fail the probe; the caller then keeps to
SFTP. The probe's exact expected reply also catches a ForceCommand that answers any command with an
SFTP server (which prints nothing and exits when its input closes).
"""

from __future__ import annotations

import shlex

from bot.ingest.source import RemoteEntry

__all__ = ["CURSOR_SLACK", "PROBE_COMMAND", "PROBE_REPLY", "listing_command", "parse_listing", "probe_ok"]

PROBE_COMMAND = "LC_ALL=C find . -maxdepth 0 -printf 'statsbot-find %y\\n'"
PROBE_REPLY = b"statsbot-find d\n"
CURSOR_SLACK = 1  # seconds subtracted from the cursor: `date +%s` truncates, ctimes have nanoseconds


class ListingFormatError(ValueError):
    """The command's output is not what `find -printf` with our format prints (truncated, foreign)."""


def probe_ok(stdout: bytes, exit_status: int | None) -> bool:
    return exit_status == 0 and stdout == PROBE_REPLY


def listing_command(remote_dir: str, since: int | None) -> str:
    """The shell command: the server's time on the first line, then one record per entry, NUL-ended.

    `since` None lists every entry; else only those whose ctime is after `since - CURSOR_SLACK`.
    """
    newer = "" if since is None else f" -newerct @{since - CURSOR_SLACK}"
    return (
        f"cd -- {shlex.quote(remote_dir)} && date +%s && "
        f"LC_ALL=C find . -mindepth 1 -maxdepth 1{newer} -printf '%y %s %T@ %P\\0'"
    )


def parse_listing(out: bytes) -> tuple[int, list[RemoteEntry]]:
    """(server time when the listing started, entries) from the command's stdout.

    Records are `type size mtime name`: the name last, so spaces in it survive; NUL cannot occur in a
    name. mtime is truncated to whole seconds exactly as SFTPv3 reports it (the integer part of the
    text, never through a float, which would round 1700000000.9999999999 up).
    """
    head, newline, body = out.partition(b"\n")
    if not newline or not head.isdigit():
        raise ListingFormatError(f"first line is not the server time: {head[:40]!r}")
    if body and not body.endswith(b"\0"):
        raise ListingFormatError("listing truncated (last record not NUL-terminated)")
    entries: list[RemoteEntry] = []
    append = entries.append
    for record in body.split(b"\0")[:-1]:
        parts = record.split(b" ", 3)
        if len(parts) != 4 or not parts[1].isdigit():
            raise ListingFormatError(f"malformed record {record[:60]!r}")
        kind, size, mtime, name = parts
        append(
            RemoteEntry(
                name.decode("utf-8", "surrogateescape"),
                int(size),
                int(mtime.partition(b".")[0]),
                kind == b"f",
            )
        )
    return int(head), entries
