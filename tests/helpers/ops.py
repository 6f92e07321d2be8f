"""Operations test rig: a real SFTP server, a real migrated database, files imported for real."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import psycopg

from bot.cli import main
from bot.config import ServerConfig, Settings
from bot.db.connection import Database
from bot.db.dialect import to_postgresql
from bot.factory import import_settings
from bot.ingest.importer import import_file
from bot.ingest.source import StatsSource
from bot.ingest.ssh_source import SshSource
from tests.helpers.sftp import REMOTE_DIR, SftpRig, sftp_rig

# Eight real files of one evening: four R1/R2 pairs in play order.
EVENING = [
    "2025-10-02-211808-etl_adlernest-round-1.txt",
    "2025-10-02-212249-etl_adlernest-round-2.txt",
    "2025-10-02-213333-supply-round-1.txt",
    "2025-10-02-214239-supply-round-2.txt",
    "2025-10-02-230707-braundorf_b4-round-1.txt",
    "2025-10-02-231506-braundorf_b4-round-2.txt",
    "2025-10-02-232339-erdenberg_t2-round-1.txt",
    "2025-10-02-232818-erdenberg_t2-round-2.txt",
]
LATER = [
    "2025-10-14-232828-etl_ice-round-1.txt",
    "2025-10-14-233150-etl_ice-round-2.txt",
    "2025-10-17-231208-frostbite-round-1.txt",
    "2025-10-17-231411-frostbite-round-2.txt",
]
BASE_MTIME = 1_760_000_000


@dataclass
class World:
    """One server 'main' on an embedded SFTP server, its settings, and an open database."""

    rig: SftpRig
    settings: Settings
    db: Database
    samples: Path

    @property
    def local_dir(self) -> Path:
        return self.settings.paths.local_stats / "main"

    def factory(self) -> Callable[[ServerConfig], StatsSource]:
        def make(cfg: ServerConfig) -> StatsSource:
            return SshSource(self.rig.params(cfg.name, port=cfg.port))

        return make

    def put_remote(self, names: Iterable[str]) -> None:
        for i, name in enumerate(names):
            self.rig.write(name, (self.samples / name).read_bytes(), mtime=BASE_MTIME + i)

    def put_local(self, names: Iterable[str]) -> None:
        self.local_dir.mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copyfile(self.samples / name, self.local_dir / name)

    async def import_(self, names: Iterable[str], server: str = "main") -> dict[str, str]:
        """Import sample files through the real importer (as the daemon would after a download)."""
        states = {}
        for name in names:
            result = await self.import_content(name, (self.samples / name).read_bytes(), server)
            states[name] = str(result["state"])
        return states

    async def import_content(self, name: str, data: bytes, server: str = "main") -> dict[str, str | None]:
        remote = self.rig.stats_dir / name
        mtime = int(remote.stat().st_mtime) if remote.exists() else BASE_MTIME
        outcome = await import_file(
            self.db, server=server, filename=name, size=len(data), mtime=mtime, data=data,
            sha256=hashlib.sha256(data).hexdigest(), settings=import_settings(self.settings), now=1000.0,
        )  # fmt: skip
        return {"state": outcome.state, "error": outcome.error}


def make_settings(base: Path, rig: SftpRig, *, target: Path | str | None = None, **sections: Any) -> Settings:
    """The world's settings; `target` a PostgreSQL URL puts the database there (`[database] url`)."""
    values: dict[str, Any] = {
        "paths": {"data_dir": base / "data", "local_stats": base / "local_stats"},
        "servers": [
            {
                "name": "main",
                "host": "127.0.0.1",
                "port": rig.server.port,
                "username": "statsbot",
                "private_key": rig.server.client_key_path,
                "known_hosts": rig.server.known_hosts_path,
                "remote_dir": REMOTE_DIR,
                "min_file_age_seconds": 0,
                "connect_timeout_seconds": 3,
                "operation_timeout_seconds": 3,
            }
        ],
    }
    if isinstance(target, str):
        values["database"] = {"url": target}
    values.update(sections)
    return Settings.from_values(**values)


@asynccontextmanager
async def open_world(
    tmp_path: Path, samples_dir: Path, target: Path | str | None = None
) -> AsyncIterator[World]:
    """One server 'main' served from tmp_path/remote, settings under tmp_path, the database open: a SQLite
    file under tmp_path/data, or the PostgreSQL URL `target` (tests/helpers/engines.py `new_store`)."""
    async with sftp_rig(tmp_path) as rig:
        settings = make_settings(tmp_path, rig, target=target)
        world = World(rig, settings, await Database.open(settings.db_target), samples_dir)
        try:
            yield world
        finally:
            await world.db.close()  # tests may reopen world.db (restore from backup): close the current one


def write_config(world: World, path: Path, *, extra: str = "", remote_dir: str | None = None) -> Path:
    """The world's settings as a TOML file for the CLI; `extra` appends sections (e.g. `[retention]`)."""
    s = world.settings
    srv = s.servers[0]
    database = f'[database]\nurl = "{s.database.url}"\n' if s.on_postgresql else ""
    path.write_text(
        f"""{database}
[paths]
data_dir = "{s.paths.data_dir}"
local_stats = "{s.paths.local_stats}"

[[servers]]
name = "main"
host = "127.0.0.1"
port = {srv.port}
username = "statsbot"
private_key = "{srv.private_key}"
known_hosts = "{srv.known_hosts}"
remote_dir = "{remote_dir or srv.remote_dir}"
min_file_age_seconds = 0
connect_timeout_seconds = 3
operation_timeout_seconds = 3

[backup]
keep = 2
dir = "{path.parent / "backups"}"
{extra}
""",
        encoding="utf-8",
    )
    return path


async def cli(argv: list[str]) -> int:
    """The statsbot CLI in-process (it runs its own event loop: give it a thread)."""
    return await asyncio.to_thread(main, argv)


def hand_delete_round(target: Path | str, round_id: int) -> None:
    """What an operator's `sqlite3 statsbot.db "DELETE FROM rounds WHERE id=N"` does: foreign keys OFF
    (the sqlite3 shell's default), so the round's players, weapons and match stay behind. On PostgreSQL
    the same hand edit in psql with `SET session_replication_role = replica` (foreign keys not enforced)."""
    if isinstance(target, str):
        sql(target, "DELETE FROM rounds WHERE id = ?", (round_id,))
        return
    conn = sqlite3.connect(target)
    try:
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("DELETE FROM rounds WHERE id = ?", (round_id,))
        conn.commit()
    finally:
        conn.close()


def sql(target: Path | str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement (SQLite's dialect) on the database and commit, like an operator's sqlite3 shell
    (foreign keys off) or psql (`session_replication_role = replica`: foreign keys and triggers off);
    returns its rows. `target`: the SQLite file, or the PostgreSQL URL (`settings.db_target`)."""
    if isinstance(target, str):
        return pg_sql(target, query, params)
    conn = sqlite3.connect(target)
    try:
        rows = [tuple(r) for r in conn.execute(query, params)]
        conn.commit()
        return rows
    finally:
        conn.close()


def pg_sql(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """`sql()` on PostgreSQL: psql's hand edit, the statement rewritten as bot/db does (bot/db/dialect.py)."""
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute("SET session_replication_role = replica")
        cur = conn.execute(cast(Any, to_postgresql(query)), params)
        return [tuple(r) for r in cur.fetchall()] if cur.description else []


async def daemon_imported(world: World, tmp_path: Path, names: list[str], *, extra: str = "") -> str:
    """Serve `names`, close the test's database and let `statsbot once` import them (the daemon's path:
    listing, registry, download into local_stats/, import); returns the config path."""
    world.put_remote(names)
    await world.db.close()
    cfg = str(write_config(world, tmp_path / "statsbot.toml", extra=extra))
    assert await cli(["--config", cfg, "once"]) == 0
    return cfg


def empty_store_config(tmp_path: Path, store: Path | str) -> Path:
    """A config whose database is not there: no file under data/, or a PostgreSQL schema left empty."""
    cfg = tmp_path / "statsbot.toml"
    database = f'[database]\nurl = "{store}"\n' if isinstance(store, str) else ""
    cfg.write_text(
        f'{database}[paths]\ndata_dir = "{tmp_path / "data"}"\nlocal_stats = "{tmp_path / "ls"}"\n'
    )
    return cfg


def nothing_created(tmp_path: Path, store: Path | str) -> bool:
    """No database file, or not one table nor function (statsbot's compat ones) in the schema."""
    if isinstance(store, Path):
        return not (tmp_path / "data" / "statsbot.db").exists()
    [(relations, functions)] = sql(
        store,
        "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace), "
        "(SELECT count(*) FROM pg_proc WHERE pronamespace = current_schema()::regnamespace)",
    )
    return (relations, functions) == (0, 0)
