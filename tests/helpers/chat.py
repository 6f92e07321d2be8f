"""Chat test helpers: outbox payloads (bot.ingest.posts TypedDicts), queueing via bot.db.outbox, a clock."""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Mapping
from pathlib import Path

from bot.config import Settings
from bot.db import outbox
from bot.db.connection import Database
from bot.factory import import_settings
from bot.ingest.importer import import_file
from bot.ingest.posts import (
    AlertPayload,
    MatchPayload,
    MatchPlayer,
    PlayerLine,
    RoundPayload,
    SessionPayload,
    alert_payload,
)
from tests.helpers.fake_discord import ADMIN_CHANNEL, ADMIN_ROLE, GUILD_ID, STATS_CHANNEL


def player(name: str, kills: int, deaths: int, **extra: object) -> PlayerLine:
    line = PlayerLine(
        name=f"^1{name}",
        clean_name=name,
        guid=f"GUID{name.upper():0>28}"[:32],
        team=1,
        kills=kills,
        deaths=deaths,
        kd=round(kills / deaths, 2) if deaths else float(kills),
        damage_given=kills * 150,
        damage_received=deaths * 140,
        dpm=kills * 15.5,
        accuracy=31.25,
        headshot_hits=kills // 2,
        headshot_kills=kills // 4,
        revives_given=3,
        xp=kills * 10,
        time_played_s=600,
        flags=[],
    )
    line.update(extra)  # type: ignore[typeddict-item]
    return line


def round_post(
    map_name: str = "supply", round_number: int = 1, players: int = 4, **extra: object
) -> RoundPayload:
    payload = RoundPayload(
        server="main",
        filename=f"2025-10-02-232339-{map_name}-round-{round_number}.txt",
        map=map_name,
        round_number=round_number,
        status="r1" if round_number == 1 else "paired",
        played_at="2025-10-02T23:23:39",
        result="completed",
        defender=1,
        winner=2,
        time_limit_s=600,
        duration_s=492,
        paired_with=None if round_number == 1 else f"2025-10-02-231000-{map_name}-round-1.txt",
        flags=[],
        players=[player(f"player{i}", 30 - i, 5 + i) for i in range(players)],
    )
    payload.update(extra)  # type: ignore[typeddict-item]
    return payload


def match_player(name: str, kills: int, deaths: int) -> MatchPlayer:
    return MatchPlayer(
        name=name,
        clean_name=name,
        guid=name.upper(),
        kills=kills,
        deaths=deaths,
        kd=round(kills / deaths, 2) if deaths else float(kills),
        damage_given=kills * 100,
        headshot_kills=1,
        revives_given=2,
        xp=50,
    )


def match_post(map_name: str = "supply") -> MatchPayload:
    return MatchPayload(
        server="main",
        map=map_name,
        r1_file=f"2025-10-02-231000-{map_name}-round-1.txt",
        r2_file=f"2025-10-02-232339-{map_name}-round-2.txt",
        outcome="r2_attackers",
        winner_team=2,
        r1_time_s=492,
        r2_time_s=401,
        top_players=[match_player("alice", 40, 10), match_player("bob", 22, 20)],
    )


def session_post() -> SessionPayload:
    return SessionPayload(
        server="main",
        session_id=7,
        started_at="2025-10-02T21:00:00",
        ended_at="2025-10-02T23:40:00",
        rounds=12,
        maps=["supply", "erdenberg_t2"],
        matches=[],
        score={"draw": 1, "r2_attackers": 2},
        best_players=[match_player("alice", 140, 50)],
    )


def alert_post(key: str = "server_unreachable:main", message: str = "main unreachable") -> AlertPayload:
    return alert_payload(key, "error", message)


_keys = itertools.count(1)


async def enqueue(
    db: Database, kind: str, payload: Mapping[str, object], *, channel: str = "stats", now: float = 1000.0
) -> int:
    """Queue one post through the real outbox function, in its own transaction."""
    async with db.transaction() as tx:
        post_id = await outbox.enqueue(
            tx, kind=kind, channel=channel, dedupe_key=f"test:{kind}:{next(_keys)}", payload=payload, now=now
        )
    assert post_id is not None
    return post_id


class Clock:
    """A settable wall clock for the drainer (backoff deadlines are compared against it)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def discord_settings(**discord_values: object) -> Settings:
    values: dict[str, object] = {
        "token": "fake-token",
        "guild_id": GUILD_ID,
        "stats_channel_id": STATS_CHANNEL,
        "admin_channel_id": ADMIN_CHANNEL,
        "admin_role_id": ADMIN_ROLE,
    }
    values.update(discord_values)
    return Settings.from_values(discord=values)


async def import_samples(
    db: Database, samples_dir: Path, *, server: str = "main", limit: int | None = None
) -> int:
    """Import real sample files through the real importer; returns how many were imported."""
    settings = import_settings(Settings.from_values())
    names = sorted(p.name for p in samples_dir.glob("*-round-[12].txt"))[:limit]
    imported = 0
    for name in names:
        data = (samples_dir / name).read_bytes()
        outcome = await import_file(
            db,
            server=server,
            filename=name,
            size=len(data),
            mtime=0,
            data=data,
            sha256=hashlib.sha256(data).hexdigest(),
            settings=settings,
            now=time.time(),
        )
        imported += outcome.state == "imported"
    return imported
