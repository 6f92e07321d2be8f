"""The `processed_files.state` machine: which state changes DESIGN.md "File states" allows (pure, no SQL).

    (no row) ─▶ seen ─▶ downloaded ─▶ imported
                  │          │   ▲ failed (retried) ─▶ quarantined
                  └──────────┴───┴─▶ duplicate / ignored

A listing records a file as `seen`; nothing ever goes back to `seen`. The importer may end any file that
has no round of its own in any outcome (new content is judged afresh: a backfill, a retry, a changed
file). An `imported` file is final: it leaves that state only for a new version of the file (fetched:
`downloaded`; refused while its round is kept: `quarantined`) and stays `imported` when it is repaired
or reprocessed. It never becomes failed, duplicate or ignored: the round it made is still there.
Staying in a state (updating the row's columns) is always allowed. `bot.db.files.set_state_sync` is the
one writer of a state change and refuses the rest with `TransitionRefused`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from bot.errors import StatsbotError

SEEN: Final = "seen"
DOWNLOADED: Final = "downloaded"
IMPORTED: Final = "imported"
FAILED: Final = "failed"
QUARANTINED: Final = "quarantined"
DUPLICATE: Final = "duplicate"
IGNORED: Final = "ignored"

STATES: Final = (SEEN, DOWNLOADED, IMPORTED, FAILED, QUARANTINED, DUPLICATE, IGNORED)
# States after which a file is not looked at again (unless its size/mtime change, for quarantined).
FINAL_STATES: Final = (IMPORTED, DUPLICATE, IGNORED, QUARANTINED)

# What the importer can make of a file's content (a file with no round of its own).
_OUTCOMES = frozenset({DOWNLOADED, IMPORTED, FAILED, QUARANTINED, DUPLICATE, IGNORED})

# from state (None: no row yet) -> the states it may change to (itself is always allowed besides).
TRANSITIONS: Final[Mapping[str | None, frozenset[str]]] = {
    None: frozenset(STATES),  # a listing records `seen`; import, sync and repair record their outcome
    SEEN: _OUTCOMES,
    DOWNLOADED: _OUTCOMES,
    FAILED: _OUTCOMES,
    QUARANTINED: _OUTCOMES,  # a new version, an admin's retry (failed), a reprocess
    DUPLICATE: _OUTCOMES,  # its content changed (backfill, reprocess): judged afresh
    IGNORED: _OUTCOMES,
    IMPORTED: frozenset({DOWNLOADED, QUARANTINED}),  # a new version fetched / refused, round kept
}


class TransitionRefused(StatsbotError):
    """A state change the state machine does not allow; nothing was written."""

    def __init__(self, server: str, filename: str, old: str | None, new: str) -> None:
        self.server, self.filename, self.old, self.new = server, filename, old, new
        allowed = ", ".join(sorted(TRANSITIONS.get(old, frozenset()))) or "none"
        super().__init__(
            f"{server}/{filename}: state change {old or '(no row)'} -> {new} refused "
            f"(from {old or '(no row)'} the allowed states are: {allowed})"
        )


def allowed(old: str | None, new: str) -> bool:
    """True when a file in state `old` (None: no registry row) may be set to `new`."""
    if new not in STATES:
        return False
    if old == new:
        return True
    return new in TRANSITIONS.get(old, frozenset())


def sources_of(new: str) -> tuple[str, ...]:
    """The existing states from which `new` may be set (itself included), in STATES order."""
    return tuple(old for old in STATES if allowed(old, new))
