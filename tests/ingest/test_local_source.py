"""LocalSource: the same listing and download semantics as the SSH source, over a local folder."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from bot.errors import RemoteFileChanged, SourceUnavailable
from bot.ingest.files import UnsafeName, safe_local_path
from bot.ingest.local_source import LocalSource
from bot.ingest.ssh_source import SshSource
from tests.helpers.sftp import sftp_rig

R1 = "2025-10-02-232339-erdenberg_t2-round-1.txt"


def test_protocol_shape() -> None:
    src = LocalSource("main", Path("/nonexistent"))
    assert src.server == "main"


async def test_lists_files_dirs_and_symlinks_without_following(tmp_path: Path) -> None:
    (tmp_path / R1).write_bytes(b"abc\n")
    os.utime(tmp_path / R1, (1_759_440_000, 1_759_440_000))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner.txt").write_bytes(b"x")
    (tmp_path / "link.txt").symlink_to("/etc/passwd")
    src = LocalSource("main", tmp_path)

    entries = {e.name: e for e in await src.list()}

    assert set(entries) == {R1, "sub", "link.txt"}
    assert (entries[R1].size, entries[R1].mtime, entries[R1].is_file) == (4, 1_759_440_000, True)
    assert entries["sub"].is_file is False
    assert entries["link.txt"].is_file is False
    recursive = {e.name for e in await LocalSource("main", tmp_path, recursive=True).list()}
    assert "sub/inner.txt" in recursive


async def test_same_listing_as_the_ssh_source(tmp_path: Path, samples_dir: Path) -> None:
    async with sftp_rig(tmp_path) as rig:
        for sample in sorted(samples_dir.iterdir())[:10]:
            shutil.copy2(sample, rig.stats_dir / sample.name)
        (rig.stats_dir / "sub").mkdir()
        (rig.stats_dir / "a-link.txt").symlink_to(rig.stats_dir / "sub")
        ssh = SshSource(rig.params())
        try:
            remote = sorted(await ssh.list(), key=lambda e: e.name)
        finally:
            await ssh.close()
        local = sorted(await LocalSource("main", rig.stats_dir).list(), key=lambda e: e.name)
    assert [(e.name, e.is_file) for e in local] == [(e.name, e.is_file) for e in remote]
    files = [(e.name, e.size, e.mtime) for e in local if e.is_file]
    assert files == [(e.name, e.size, e.mtime) for e in remote if e.is_file]
    assert len(files) == 10


async def test_download_copies_atomically_and_hashes(tmp_path: Path, samples_dir: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    data = (samples_dir / R1).read_bytes()
    (root / R1).write_bytes(data)
    dest = safe_local_path(tmp_path / "local_stats", "main", R1)

    got = await LocalSource("main", root).download(R1, dest, len(data))

    assert got.path == dest
    assert dest.read_bytes() == data
    assert got.sha256 == hashlib.sha256(data).hexdigest()
    assert not list((tmp_path / "local_stats").rglob("*.part"))


async def test_download_in_place_only_hashes(tmp_path: Path) -> None:
    (tmp_path / R1).write_bytes(b"in place\n")
    before = (tmp_path / R1).stat()
    got = await LocalSource("main", tmp_path).download(R1, tmp_path / R1, 9)
    assert got.sha256 == hashlib.sha256(b"in place\n").hexdigest()
    assert (tmp_path / R1).stat().st_ino == before.st_ino  # not rewritten
    assert sorted(p.name for p in tmp_path.iterdir()) == [R1]


async def test_grown_file_is_refused_without_leftovers(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    (root / R1).write_bytes(b"0123456789")
    src = LocalSource("main", root)
    [entry] = await src.list()
    with (root / R1).open("ab") as f:
        f.write(b"more")
    dest = tmp_path / "out" / R1
    with pytest.raises(RemoteFileChanged, match="size 14, listed 10"):
        await src.download(R1, dest, entry.size)
    assert not dest.exists()
    assert not dest.with_name(R1 + ".part").exists()


async def test_vanished_symlinked_and_unsafe_names(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    (root / "passwd.txt").symlink_to("/etc/passwd")
    src = LocalSource("main", root)
    dest = tmp_path / "out" / "x.txt"
    assert await src.stat(R1) is None
    with pytest.raises(RemoteFileChanged, match="vanished"):
        await src.download(R1, dest, 1)
    with pytest.raises(RemoteFileChanged, match="regular file"):
        await src.download("passwd.txt", dest, os.stat("/etc/passwd").st_size)
    for name in ("../secret", "a/b", "x\x00y", ".."):
        with pytest.raises(UnsafeName):
            await src.download(name, dest, 1)
    assert not (tmp_path / "out").exists()


async def test_stat_delete_and_dir_mtime(tmp_path: Path) -> None:
    (tmp_path / R1).write_bytes(b"abc")
    os.utime(tmp_path, (1_700_000_000, 1_700_000_000))
    src = LocalSource("main", tmp_path)
    assert await src.dir_mtime() == 1_700_000_000
    entry = await src.stat(R1)
    assert entry is not None
    assert entry.size == 3
    await src.delete(R1)
    await src.delete(R1)
    assert not (tmp_path / R1).exists()
    await src.close()


async def test_missing_root_is_unavailable(tmp_path: Path) -> None:
    src = LocalSource("backfill", tmp_path / "missing")
    with pytest.raises(SourceUnavailable, match="backfill"):
        await src.list()
    with pytest.raises(SourceUnavailable):
        await src.dir_mtime()
