"""`statsbot db migrate --to postgresql://…` through the real CLI: a real SQLite database made by the real
importer, copied into a real PostgreSQL schema; verified, idempotent, refusing what it must refuse."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.db import table_copy as tc
from bot.db.connection import Database
from bot.errors import DatabaseError
from bot.ops.pg_copy import public_url, verify
from tests.helpers import pg
from tests.helpers.ops import EVENING, LATER, World, cli, sql, write_config


@pytest.fixture
async def world(sqlite_world: World) -> World:
    """The source database here is SQLite (what `db migrate` copies, what the fallback backup writes)."""
    return sqlite_world


async def _sqlite_with_data(world: World, tmp_path: Path) -> str:
    """The evening and later rounds imported by the real importer (rounds, aggregates, outbox), one post
    marked sent; the database closed (the CLI takes its lock); returns the config path."""
    await world.import_(EVENING + LATER)
    await world.db.execute("UPDATE outbox SET state = 'sent', message_id = '42' WHERE id = 1")
    await world.db.close()
    return str(write_config(world, tmp_path / "statsbot.toml"))


def _pg(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with pg.connect(url) as conn:
        cur = conn.execute(query, params)
        return [tuple(r) for r in cur.fetchall()] if cur.description else []


async def _digests(url: str, sqlite_path: Path) -> dict[str, tuple[int, str]]:
    """Each table's (rows, checksum) on the target, by the command's own reader."""
    src = await Database.open(sqlite_path, lock=False)
    dst = await _open_copying(url)
    try:
        shapes = await dst.call(tc.pg_shapes)
        return {c.table: (c.target_rows, c.target_sum) for c in await verify(src, dst, shapes)}
    finally:
        await dst.close()
        await src.close()


async def _open_copying(url: str) -> Database:
    from bot.db.pg_database import PgDatabase

    return await PgDatabase.open_url(url, copying=True)


async def test_copies_every_table_verified_and_a_second_run_changes_nothing(
    world: World, tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await _sqlite_with_data(world, tmp_path)
    db_path = world.settings.paths.db_path
    capsys.readouterr()
    assert await cli(["--config", cfg, "db", "migrate", "--to", pg_url, "--chunk", "50"]) == 0
    said = capsys.readouterr().out
    assert re.search(r"weapon_stats: 50/\d+ rows", said)  # chunked, with progress
    table = {m[0]: m[1:] for m in re.findall(r"^(\w+) +(\d+) +(\d+) +\w+ / \w+ +(\w+)$", said, re.M)}
    assert len(table) >= 25
    assert "schema_version" not in table
    assert all(mark == "ok" and a == b for a, b, mark in table.values()), said
    for name in ("rounds", "player_stats", "weapon_stats", "players", "player_days", "outbox"):
        [(n,)] = sql(db_path, f"SELECT count(*) FROM {name}")
        assert int(table[name][0]) == n > 0
        assert _pg(pg_url, f"SELECT count(*) FROM {name}") == [(n,)]
    # The aggregates are the source's, not counted a second time by the insert triggers.
    assert _pg(pg_url, "SELECT sum(rounds), sum(kills) FROM players") == [
        tuple(sql(db_path, "SELECT sum(rounds), sum(kills) FROM players")[0])
    ]
    assert _pg(pg_url, "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'O'") == [
        (0,)
    ]
    assert _pg(pg_url, "SELECT to_regclass('migration_copy')") == [(None,)]  # finished: record gone
    assert f'url = "{pg_url}"' in said
    assert "PGPASSWORD" in said
    assert "~/.pgpass" in said
    assert "local_stats" in said

    # Ids preserved and the identity sequences past them: the next import gets a new id.
    [(top,)] = sql(db_path, "SELECT max(id) FROM rounds")
    assert _pg(pg_url, "SELECT max(id) FROM rounds") == [(top,)]
    before = await _digests(pg_url, db_path)
    assert await cli(["--config", cfg, "db", "migrate", "--to", pg_url]) == 0
    assert "already holds a complete, verified copy" in capsys.readouterr().out
    assert await _digests(pg_url, db_path) == before  # nothing changed

    target = await Database.open(pg_url)  # the daemon's way: no unfinished copy, opens
    try:
        row = await target.fetchone("INSERT INTO sessions(server, started_at, ended_at, last_import_at) "
                                    "VALUES ('x', 'a', 'b', 0) RETURNING id")  # fmt: skip
        [(sessions_top,)] = sql(db_path, "SELECT max(id) FROM sessions")
        assert row is not None
        assert row[0] == sessions_top + 1
    finally:
        await target.close()


async def test_refuses_a_target_with_other_rows_unless_forced(
    world: World, tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await _sqlite_with_data(world, tmp_path)
    other = await Database.open(pg_url)  # a PostgreSQL database in use: a link and a file of its own
    await other.execute("INSERT INTO member_links VALUES (7, 'ABCD', 1)")
    await other.execute("INSERT INTO alerts(key, severity, message, opened_at) VALUES ('k', 'w', 'm', 1)")
    await other.close()
    capsys.readouterr()
    assert await cli(["--config", cfg, "db", "migrate", "--to", pg_url]) == 1
    said = capsys.readouterr().err
    assert "not empty" in said, said
    assert "alerts 1 row" in said, said
    assert "member_links 1 row" in said, said
    assert "--force" in said
    assert _pg(pg_url, "SELECT count(*) FROM rounds") == [(0,)]
    assert _pg(pg_url, "SELECT discord_user_id FROM member_links") == [(7,)]  # untouched

    assert await cli(["--config", cfg, "db", "migrate", "--to", pg_url, "--force"]) == 0
    assert _pg(pg_url, "SELECT count(*) FROM member_links") == [(0,)]
    [(n,)] = sql(world.settings.paths.db_path, "SELECT count(*) FROM rounds")
    assert _pg(pg_url, "SELECT count(*) FROM rounds") == [(n,)]


async def test_a_running_daemon_makes_it_refuse(
    world: World, tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await _sqlite_with_data(world, tmp_path)
    daemon = await Database.open(world.settings.paths.db_path)  # holds the instance lock, as `run` does
    try:
        capsys.readouterr()
        assert await cli(["--config", cfg, "db", "migrate", "--to", pg_url]) == 1
        said = capsys.readouterr().err
        assert "already running" in said
        assert "stop the daemon first" in said
    finally:
        await daemon.close()
    assert _pg(pg_url, "SELECT to_regclass('rounds')") == [(None,)]  # not even migrated


async def test_a_statsbot_using_the_target_makes_it_refuse_even_forced(
    world: World, tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = await _sqlite_with_data(world, tmp_path)
    running = await Database.open(pg_url)  # a daemon (or standby) on the target: named as `run` names it
    try:
        await running.execute("INSERT INTO member_links VALUES (7, 'ABCD', 1)")
        capsys.readouterr()
        assert await cli(["--config", cfg, "db", "migrate", "--to", pg_url, "--force"]) == 1
        said = capsys.readouterr().err
        assert "statsbot is using the target database" in said, said
        assert re.search(r"statsbot \(pid \d+, from ", said), said
        assert "Stop every statsbot" in said
        assert _pg(pg_url, "SELECT discord_user_id FROM member_links") == [(7,)]  # nothing emptied
    finally:
        await running.close()
    assert await cli(["--config", cfg, "db", "migrate", "--to", pg_url, "--force"]) == 0
    assert _pg(pg_url, "SELECT count(*) FROM member_links") == [(0,)]


async def test_a_difference_is_named_and_exits_non_zero(
    world: World, tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The verification can fail: a copied row changed behind the copier's back is found and named, and
    the unfinished-copy record stays (the daemon keeps refusing the target)."""
    cfg = await _sqlite_with_data(world, tmp_path)
    src = await Database.open(world.settings.paths.db_path)
    dst = await _open_copying(pg_url)
    try:  # a copy by the command's own steps, every table's rows done (rounds' references still owed)
        shapes = await dst.call(tc.pg_shapes)
        await dst.run_transaction(tc.start_copy, shapes, "x", await src.call(tc.source_instance))
        for shape in shapes:
            rows = await src.call(tc.read_chunk, shape, None, 100_000)
            await dst.run_transaction(tc.copy_rows, shape, rows, last=True)
        await dst.execute(
            "UPDATE player_stats SET kills = kills + 1 WHERE ctid = (SELECT min(ctid) FROM player_stats)"
        )
    finally:
        await dst.close()
        await src.close()
    capsys.readouterr()
    assert await cli(["--config", cfg, "db", "migrate", "--to", pg_url]) == 1
    captured = capsys.readouterr()
    assert "resuming the unfinished copy" in captured.out
    assert re.search(r"^player_stats .* DIFFERENT$", captured.out, re.M)
    assert re.search(r"^rounds .* ok$", captured.out, re.M)  # its R1/R2 references set by the resume
    assert "differs from" in captured.err
    assert "player_stats" in captured.err
    assert "rounds" not in captured.err
    with pytest.raises(DatabaseError, match="has not finished copying"):
        await Database.open(pg_url)


def test_the_public_url_carries_no_password() -> None:
    assert public_url("postgresql://bot:s3cret@db.example:5432/stats?sslmode=require&password=x") == (
        "postgresql://bot@db.example:5432/stats?sslmode=require"
    )


async def test_an_unfinished_copy_is_refused_by_the_daemon(pg_url: str) -> None:
    db = await _open_copying(pg_url)
    try:
        shapes = await db.call(tc.pg_shapes)
        await db.run_transaction(tc.start_copy, shapes, "some.db", "abc")
    finally:
        await db.close()
    with pytest.raises(DatabaseError, match="has not finished copying"):
        await Database.open(pg_url)
