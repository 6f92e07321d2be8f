"""Chat test helpers: outbox payloads (bot.ingest.posts TypedDicts), queueing via bot.db.outbox, a clock."""

from __future__ import annotations

import hashlib
import itertools
import shutil
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
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
    MatchTeam,
    PlayerLine,
    RoundPayload,
    alert_payload,
)
from bot.ingest.session_posts import (
    ChartSeries,
    SessionAward,
    SessionChart,
    SessionMap,
    SessionPayload,
    SessionPlayer,
    SessionTeam,
)
from tests.helpers.fake_discord import ADMIN_CHANNEL, ADMIN_ROLE, GUILD_ID, STATS_CHANNEL
from tests.helpers.pg import StorePool, copy_rows


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
        gibs=kills // 3,
        dynamites_planted=1,
        dynamites_defused=0,
        objectives_stolen=0,
        objectives_returned=0,
        repairs=2,
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
        players=[player(f"player{i}", 30 - i, 5 + i, team=1 + i % 2) for i in range(players)],
        notes=[],
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
        gibs=kills // 4,
        damage_given=kills * 100,
        dpm=kills * 10.5,
        accuracy=33.3,
        headshot_kills=1,
        revives_given=2,
        objectives=1,
        xp=50,
        points=kills * 1.5,
    )


def match_post(map_name: str = "supply") -> MatchPayload:
    attack = [match_player("alice", 40, 10), match_player("carol", 12, 14)]
    defend = [match_player("bob", 22, 20), match_player("dave", 9, 25)]
    return MatchPayload(
        server="main",
        map=map_name,
        r1_file=f"2025-10-02-231000-{map_name}-round-1.txt",
        r2_file=f"2025-10-02-232339-{map_name}-round-2.txt",
        outcome="r2_attackers",
        winner_team=2,
        r1_time_s=492,
        r2_time_s=401,
        r1_held=False,
        r2_held=False,
        teams=[
            MatchTeam(name="Team bob", side_r1=2, players=defend),
            MatchTeam(name="Team alice", side_r1=1, players=attack),
        ],
        winner=1,
        top_players=[attack[0], defend[0], attack[1]],
        notes=[],
    )


def session_player(name: str, team: int, kills: int, deaths: int) -> SessionPlayer:
    return SessionPlayer(
        key=name.upper(), name=name, team=team, rounds=4, kills=kills, deaths=deaths, gibs=kills // 3,
        dpm=kills * 9.5, accuracy=35.2, revives_given=3, objectives=1, points=kills * 1.2,
    )  # fmt: skip


def session_post() -> SessionPayload:
    players = [session_player("alice", 1, 140, 50), session_player("carol", 1, 60, 70),
               session_player("bob", 2, 90, 100), session_player("dave", 2, 45, 110)]  # fmt: skip
    maps = [
        SessionMap(map="supply", result="win", attacked_first=2, winner=1, r1_time_s=492, r2_time_s=401,
                   r1_held=False, r2_held=False, note=""),
        SessionMap(map="erdenberg_t2", result="win", attacked_first=1, winner=1, r1_time_s=300, r2_time_s=300,
                   r1_held=False, r2_held=True, note=""),
        SessionMap(map="etl_adlernest", result="draw", attacked_first=2, winner=None, r1_time_s=600,
                   r2_time_s=600, r1_held=True, r2_held=True, note=""),
    ]  # fmt: skip
    return SessionPayload(
        server="main",
        session_id=7,
        started_at="2025-10-02T21:00:00",
        ended_at="2025-10-02T23:40:00",
        rounds=6,
        closed=True,
        teams=[
            SessionTeam(team=1, name="Team alice", maps_won=2, players=["alice", "carol"]),
            SessionTeam(team=2, name="Team bob", maps_won=0, players=["bob", "dave"]),
        ],
        draws=1,
        maps=maps,
        mvp=players[0],
        awards=[SessionAward(title="Butcher", key="ALICE", name="alice", value="46 gibs")],
        players=players,
        chart=SessionChart(
            maps=[m["map"] for m in maps],
            series=[ChartSeries(name=p["name"], team=p["team"], dpm=[300.0, 250.5, None]) for p in players],
            teams={"1": "Team alice", "2": "Team bob"},
        ),
        notes=[],
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
        "posts": "all",  # the tests post round posts too (the default, "matches", makes none)
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


class ImportedSamples:
    """The real samples imported ONCE per engine and test session by the real importer (`import_samples`),
    then copied into each test's new database before it opens: a SQLite file copy, or the rows of a
    PostgreSQL schema (tests/helpers/pg.py copy_rows). Measured: see the commit adding it."""

    def __init__(self, base: Path, samples_dir: Path, pool: Callable[[], StorePool]) -> None:
        self.base, self.samples_dir, self.pool = base, samples_dir, pool
        self.built: dict[str, Path | str] = {}
        self.stack = ExitStack()  # the PostgreSQL template's schema, for the session

    async def copy_into(self, target: Path | str) -> None:
        engine = "postgresql" if isinstance(target, str) else "sqlite"
        if engine not in self.built:
            source = (
                self.base / "samples.db"
                if engine == "sqlite"
                else self.stack.enter_context(self.pool().store())
            )
            async with await Database.open(source) as db:
                assert await import_samples(db, self.samples_dir) > 40
            self.built[engine] = source
        source = self.built[engine]
        if isinstance(source, Path):
            assert isinstance(target, Path)
            shutil.copyfile(source, target)  # closed cleanly: the WAL is checkpointed into the file
        else:
            copy_rows(source, str(target))
