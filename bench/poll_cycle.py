"""Poll-cycle cost with N remote files all already imported: cycle time, SQL statements per cycle, peak RSS.

Run: .venv/bin/python bench/poll_cycle.py [--files 100000] [--sftp]

The real Poller, Registry (memory layer loaded once from SQLite), settle gate and Database are used. The
source is an in-memory listing by default, so the figures are the daemon's own cost; `--sftp` also times
the same cycles against the embedded SFTP server serving N real (empty-ish) files.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from pathlib import Path

from bot.db import files as dbfiles
from bot.db.connection import Database
from bot.ingest.importer import ImportSettings
from bot.ingest.poller import Poller, PollerConfig
from bot.ingest.registry import MemoryCache, Registry
from bot.ingest.settle import SettleGate
from bot.ingest.source import Downloaded, RemoteEntry, StatsSource

SERVER = "bench"
MTIME = 1_760_000_000


def names(count: int) -> list[str]:
    out = []
    for i in range(count):
        day, rest = divmod(i, 86400)
        year, day = 2021 + day // 300, day % 300
        clock = f"{rest // 3600:02d}{rest // 60 % 60:02d}{rest % 60:02d}"
        out.append(f"{year}-{1 + day // 28:02d}-{1 + day % 28:02d}-{clock}-supply-round-{1 + i % 2}.txt")
    return out


class MemorySource:
    """A StatsSource whose directory never changes: what a quiet game server looks like."""

    def __init__(self, entries: list[RemoteEntry]) -> None:
        self.entries = entries
        self.lists = 0

    @property
    def server(self) -> str:
        return SERVER

    async def dir_mtime(self) -> int | None:
        return MTIME

    async def list(self) -> list[RemoteEntry]:
        self.lists += 1
        return list(self.entries)

    async def stat(self, name: str) -> RemoteEntry | None:
        return None

    async def download(self, name: str, dest: Path, expected_size: int) -> Downloaded:
        raise AssertionError("nothing should be downloaded: every file is done")

    async def delete(self, name: str) -> None:
        return None

    async def close(self) -> None:
        return None


def rss_mb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Resident set size now (Linux /proc), to see whether many cycles leak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def seed(db: Database, all_names: list[str]) -> None:
    """N registry rows in the final state `imported` (bench fixture)."""
    async with db.transaction() as tx:
        await dbfiles.record_seen(tx, SERVER, [(n, 100, MTIME) for n in all_names], time.time())
        await tx.execute("UPDATE processed_files SET state = 'imported' WHERE server = ?", (SERVER,))


def poller(db: Database, source: StatsSource, memory: MemoryCache, local: Path, full: float) -> Poller:
    return Poller(
        db=db,
        source=source,
        registry=Registry(db, SERVER, local / SERVER, memory),
        gate=SettleGate(2.0),
        config=PollerConfig(server=SERVER, full_listing_seconds=full),
        import_settings=ImportSettings(),
        local_stats=local,
    )


async def cycles(p: Poller, db: Database, count: int) -> tuple[float, float, list[int], bool]:
    """(median seconds, max seconds, statements per cycle, listed) over `count` cycles after the first."""
    await p.poll()  # the first cycle lists (directory never seen); not what a steady cycle costs
    await asyncio.sleep(1.05)
    await p.poll()  # the confirming listing a second later (SFTP mtimes have 1 s resolution)
    times: list[float] = []
    statements: list[int] = []
    listed = False
    for _ in range(count):
        before = db.statements
        started = time.perf_counter()
        result = await p.poll()
        times.append(time.perf_counter() - started)
        statements.append(db.statements - before)
        listed = listed or result.listed
        if not result.ok or result.states:
            raise RuntimeError(f"a steady cycle must neither fail nor import: {result}")
    times.sort()
    return times[len(times) // 2], times[-1], sorted(set(statements)), listed


async def run(count: int, with_sftp: bool) -> None:
    all_names = names(count)
    with tempfile.TemporaryDirectory(prefix="statsbot-bench-") as tmp:
        base = Path(tmp)
        async with await Database.open(base / "bench.db") as db:
            t0 = time.perf_counter()
            await seed(db, all_names)
            print(f"seeded {count} imported registry rows in {time.perf_counter() - t0:.2f} s")
            t0 = time.perf_counter()
            keys = await dbfiles.load_final_keys(db)
            t1 = time.perf_counter()
            memory = MemoryCache(keys)
            t2 = time.perf_counter()
            print(
                f"memory layer loaded once: {len(memory)} keys, query {1e3 * (t1 - t0):.0f} ms "
                f"+ index {1e3 * (t2 - t1):.0f} ms"
            )
            entries = [RemoteEntry(n, 100, MTIME, True) for n in all_names]
            steady = poller(db, MemorySource(entries), memory, base / "local", full=300)
            med, worst, stmts, listed = await cycles(steady, db, 50)
            print(
                f"steady cycle (directory unchanged: stat only): median {1e3 * med:.2f} ms, max "
                f"{1e3 * worst:.2f} ms, SQL statements per cycle {stmts}, listed={listed}"
            )
            rss_before = current_rss_mb()
            started = time.perf_counter()
            for _ in range(10_000):
                await steady.poll()
            per_cycle = (time.perf_counter() - started) / 10_000
            print(
                f"10,000 steady cycles: {1e3 * per_cycle:.2f} ms each; RSS {rss_before:.1f} MB before, "
                f"{current_rss_mb():.1f} MB after"
            )
            full = poller(db, MemorySource(entries), memory, base / "local", full=1e-9)
            med, worst, stmts, listed = await cycles(full, db, 10)
            print(
                f"full-listing cycle ({count} entries through the memory layer): median {1e3 * med:.1f} ms, "
                f"max {1e3 * worst:.1f} ms, SQL statements per cycle {stmts}, listed={listed}"
            )
            if with_sftp:
                await sftp_cycles(db, memory, base, all_names)
        print(f"peak RSS {rss_mb():.0f} MB")


async def sftp_cycles(db: Database, memory: MemoryCache, base: Path, all_names: list[str]) -> None:
    from bot.ingest.sftp_server import EmbeddedSftpServer
    from bot.ingest.ssh_source import SshParams, SshSource

    served = base / "served" / "gamestats"
    served.mkdir(parents=True)
    t0 = time.perf_counter()
    for name in all_names:
        path = served / name
        path.write_bytes(b"x" * 100)
    print(f"created {len(all_names)} files for SFTP in {time.perf_counter() - t0:.1f} s")
    async with EmbeddedSftpServer(base / "served", base / "keys") as srv:
        source = SshSource(
            SshParams(
                server=SERVER, host="127.0.0.1", port=srv.port, username="bench",
                private_key=srv.client_key_path, passphrase=None, known_hosts=srv.known_hosts_path,
                remote_dir="/gamestats", op_timeout=60,
            )
        )  # fmt: skip
        try:
            listing = await source.list()  # the memory layer as it would be after importing these files
            fresh = MemoryCache({(SERVER, e.name): (e.size, e.mtime, "imported") for e in listing})
            for label, full_every in (
                ("steady cycle over SFTP", 300.0),
                ("full-listing cycle over SFTP", 1e-9),
            ):
                p = poller(db, source, fresh, base / "local", full=full_every)
                med, worst, stmts, listed = await cycles(p, db, 5 if full_every < 1 else 30)
                print(
                    f"{label}: median {1e3 * med:.1f} ms, max {1e3 * worst:.1f} ms, "
                    f"SQL statements per cycle {stmts}, listed={listed}"
                )
        finally:
            await source.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument(
        "--sftp", action="store_true", help="also time cycles against the embedded SFTP server"
    )
    args = parser.parse_args()
    asyncio.run(run(args.files, args.sftp))


if __name__ == "__main__":
    main()
