"""The timing of leader election (bot/db/leadership.py), without its driver: the config reads it.

A follower tries the leadership lock every `retry` seconds; the leader pings its lock connection every
`heartbeat` seconds. The server ends the leader's dedicated session (freeing the lock) after
`session_timeout(...)` seconds without a statement. Hence the takeover bounds:

- the leader's process dies or its connection is closed: the server frees the lock at once, the
  follower has it at its next try: at most `retry` seconds;
- the leader's host vanishes or freezes: the lock outlives it by at most the session timeout, then one
  try: `takeover_bound(...)` = session timeout + retry.
"""

from __future__ import annotations

LEADER_RETRY_SECONDS = 3.0
LEADER_HEARTBEAT_SECONDS = 2.0
SESSION_TIMEOUT_FACTOR = 3  # heartbeats (or retries) a silent leader session survives


def session_timeout(retry_seconds: float, heartbeat_seconds: float) -> float:
    return SESSION_TIMEOUT_FACTOR * max(heartbeat_seconds, retry_seconds)


def takeover_bound(retry_seconds: float, heartbeat_seconds: float) -> float:
    """The longest a follower waits after the leader dies or is cut off (12 s with the defaults)."""
    return session_timeout(retry_seconds, heartbeat_seconds) + retry_seconds
