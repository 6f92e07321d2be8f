"""Local-file helpers: safe paths under local_stats, the atomic .part protocol, hashing, orphan cleanup."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from bot.ingest.files import (
    LocalWriteError,
    PartFile,
    UnsafeName,
    part_path,
    remove_orphan_parts,
    safe_local_path,
    sha256_file,
    unsafe_relpath_reason,
)

NAME = "2025-10-02-232339-erdenberg_t2-round-1.txt"


def test_safe_local_path_is_under_the_server_folder(tmp_path: Path) -> None:
    path = safe_local_path(tmp_path / "local_stats", "main", NAME)
    assert path == (tmp_path / "local_stats" / "main" / NAME).resolve()
    nested = safe_local_path(tmp_path / "local_stats", "main", f"2025/{NAME}")
    assert nested.parent.name == "2025"


@pytest.mark.parametrize(
    "name",
    ["../x", "..", "/etc/passwd", "a/../../b", "x\x00y", "evil\nname", "", ".hidden", "a\\b", "\udcff.txt"],
)
def test_safe_local_path_refuses_hostile_names(tmp_path: Path, name: str) -> None:
    assert unsafe_relpath_reason(name) is not None
    with pytest.raises(UnsafeName) as err:
        safe_local_path(tmp_path / "local_stats", "main", name)
    assert err.value.name == name
    assert not (tmp_path / "local_stats").exists()


@pytest.mark.parametrize("server", ["..", "a/b", "", "x\x00"])
def test_safe_local_path_refuses_hostile_server_names(tmp_path: Path, server: str) -> None:
    with pytest.raises(UnsafeName, match="server name"):
        safe_local_path(tmp_path, server, NAME)


def test_safe_local_path_refuses_a_planted_symlink(tmp_path: Path) -> None:
    folder = tmp_path / "local_stats" / "main"
    folder.mkdir(parents=True)
    (folder / NAME).symlink_to(tmp_path / "elsewhere.txt")
    with pytest.raises(UnsafeName, match="outside"):
        safe_local_path(tmp_path / "local_stats", "main", NAME)


def test_part_file_commit_renames_atomically(tmp_path: Path) -> None:
    dest = tmp_path / "main" / NAME
    with PartFile("main", dest) as part:
        part.write(b"hello ")
        part.write(b"world\n")
        assert part_path(dest).exists()
        assert not dest.exists()
        done = part.commit()
    assert dest.read_bytes() == b"hello world\n"
    assert not part_path(dest).exists()
    assert (done.path, done.size) == (dest, 12)
    assert done.sha256 == hashlib.sha256(b"hello world\n").hexdigest()


def test_part_file_discarded_on_error_keeps_the_previous_copy(tmp_path: Path) -> None:
    dest = tmp_path / NAME
    dest.write_bytes(b"old complete copy\n")

    def broken_transfer() -> None:
        with PartFile("main", dest) as part:
            part.write(b"half")
            raise RuntimeError("transfer broke")

    with pytest.raises(RuntimeError):
        broken_transfer()
    assert dest.read_bytes() == b"old complete copy\n"
    assert not part_path(dest).exists()


def test_part_file_local_failure_is_a_local_write_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_bytes(b"")
    with pytest.raises(LocalWriteError, match="cannot create"), PartFile("main", blocker / NAME):
        pass


def test_sha256_file_streams_and_stops_past_the_limit(tmp_path: Path) -> None:
    data = os.urandom(200_000)
    path = tmp_path / "f"
    path.write_bytes(data)
    assert sha256_file(path) == (len(data), hashlib.sha256(data).hexdigest())
    size, _ = sha256_file(path, limit=1000)
    assert 1000 < size < len(data)


def test_remove_orphan_parts(tmp_path: Path) -> None:
    (tmp_path / "main").mkdir()
    orphan = tmp_path / "main" / f"{NAME}.part"
    orphan.write_bytes(b"partial")
    keep = tmp_path / "main" / NAME
    keep.write_bytes(b"done\n")
    (tmp_path / "other.part").mkdir()  # a folder named like one is not ours to delete
    assert remove_orphan_parts(tmp_path) == [orphan]
    assert not orphan.exists()
    assert keep.exists()
    assert (tmp_path / "other.part").is_dir()
    assert remove_orphan_parts(tmp_path / "missing") == []


def test_part_file_never_writes_through_a_planted_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious\n")
    dest = tmp_path / "main" / NAME
    dest.parent.mkdir()
    part_path(dest).symlink_to(victim)
    with pytest.raises(LocalWriteError), PartFile("main", dest):
        pass
    assert victim.read_bytes() == b"precious\n"
