"""Where the data lives: `[paths]` and `[database]` (SQLite by default, or PostgreSQL)."""

from __future__ import annotations

import socket
from pathlib import Path

from pydantic import Field, field_validator

from bot.config_fields import ExpandedPath, Model, NonEmpty
from bot.db.dialect import is_postgresql_url
from bot.db.leadership_timing import LEADER_HEARTBEAT_SECONDS, LEADER_RETRY_SECONDS, takeover_bound


class PathsConfig(Model):
    data_dir: ExpandedPath = Path("data")
    local_stats: ExpandedPath = Path("local_stats")
    database: ExpandedPath | None = None

    @property
    def db_path(self) -> Path:
        return self.database if self.database is not None else self.data_dir / "statsbot.db"


DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres")


class DatabaseConfig(Model):
    """Where the data lives. No url (the default): SQLite at [paths] database. `postgresql://user@host/db`:
    PostgreSQL, which two instances can share (one leads, see docs/OPERATIONS.md). Passwords belong in
    the environment (STATSBOT_DATABASE__URL, PGPASSWORD) or a ~/.pgpass file, never in the config file."""

    url: NonEmpty | None = None
    # PostgreSQL only: `false` sets synchronous_commit=off on the writer's connection (the import's
    # commits return before their WAL is flushed). A crash of the PostgreSQL server (not of statsbot)
    # may then lose the last commits of up to ~0.6 s (3 x wal_writer_delay); those files are imported
    # again: still exactly once in the database, but their posts may be sent a second time. It is what
    # SQLite's synchronous=NORMAL trades on a power cut. The default keeps every commit durable.
    synchronous_commit: bool = True

    # High availability on PostgreSQL (bot/db/leadership.py, docs/OPERATIONS.md §12): the instance not
    # leading tries the leadership lock every leader_retry_seconds; the leader proves its lock connection
    # alive every leader_heartbeat_seconds. The server frees a vanished leader's lock after
    # 3 × max(both) without a heartbeat, so takeover takes at most 4 × max(both) (12 s by default: within
    # two of the default 10 s poll intervals). `instance` names this host in logs, pg_stat_activity and
    # the standby's status (default: the host name).
    leader_retry_seconds: float = Field(default=LEADER_RETRY_SECONDS, gt=0, le=60)
    leader_heartbeat_seconds: float = Field(default=LEADER_HEARTBEAT_SECONDS, gt=0, le=60)
    instance: NonEmpty = Field(default_factory=socket.gethostname, max_length=40)

    @property
    def takeover_bound_seconds(self) -> float:
        """The longest a standby waits after the leader dies or is cut off (bot/db/leadership.py)."""
        return takeover_bound(self.leader_retry_seconds, self.leader_heartbeat_seconds)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme, sep, rest = value.partition("://")
        if not sep or scheme.lower() not in DATABASE_SCHEMES:
            raise ValueError("must start with sqlite:/// or postgresql://")
        return f"{scheme.lower()}://{rest}"  # one spelling of the scheme for every later check

    @property
    def is_postgresql(self) -> bool:
        return is_postgresql_url(self.url)
