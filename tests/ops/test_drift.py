"""The pure four-location comparison: each kind of drift is reported exactly, with its files and dates."""

from __future__ import annotations

from bot.ops.drift import (
    Kind,
    LocalFile,
    RegistryEntry,
    RemoteFile,
    RoundEntry,
    ServerSnapshot,
    compare,
)

A = "2024-03-24-210000-supply-round-1.txt"
B = "2024-05-01-210500-supply-round-2.txt"
C = "2024-09-17-220000-etl_ice-round-1.txt"
D = "2025-01-06-221847-supply-round-2.txt"


def _consistent(names: list[str]) -> dict[str, object]:
    remote = {n: RemoteFile(n, 100, 1000) for n in names}
    local = {n: LocalFile(n, 100) for n in names}
    registry = {
        n: RegistryEntry(n, "imported", 100, 1000, f"sha-{n}", round_id=i) for i, n in enumerate(names)
    }
    rounds = {n: RoundEntry(i, n, f"sha-{n}") for i, n in enumerate(names)}
    return {"remote": remote, "local": local, "registry": registry, "rounds": rounds}


def _snap(**parts: object) -> ServerSnapshot:
    return ServerSnapshot(server="main", **parts)  # type: ignore[arg-type]


def test_consistent_server_has_no_differences() -> None:
    report = compare(_snap(**_consistent([A, B, C])))
    assert report.differences == ()
    assert report.healthy
    assert report.counts.remote == 3
    assert report.counts.local == 3
    assert report.counts.registry == {"imported": 3}
    assert report.counts.rounds == 3


def test_missing_locally_is_harmless_with_date_range_and_advice() -> None:
    parts = _consistent([A, B, C, D])
    parts["local"] = {D: LocalFile(D, 100)}
    report = compare(_snap(**parts))
    diff = report.difference(Kind.MISSING_LOCALLY)
    assert diff is not None
    assert diff.files == (A, B, C)
    assert (diff.first_date, diff.last_date) == ("2024-03-24", "2024-09-17")
    assert not diff.matters
    assert "harmless" in diff.recommendation
    assert "2024-03-24…2024-09-17" in diff.recommendation
    assert "--restore-local" in diff.recommendation
    assert report.healthy  # only harmless differences
    assert [d.kind for d in report.differences] == [Kind.MISSING_LOCALLY]


def test_compressed_local_copy_counts_as_present() -> None:
    parts = _consistent([A, B])
    parts["local"] = {A: LocalFile(A, 40, compressed=True), B: LocalFile(B, 100)}
    report = compare(_snap(**parts))
    assert report.differences == ()
    assert report.counts.local_compressed == 1


def test_remote_never_processed_and_in_progress() -> None:
    parts = _consistent([A])
    parts["remote"] = {n: RemoteFile(n, 100, 1000) for n in (A, B, C)}
    parts["registry"] = {**parts["registry"], C: RegistryEntry(C, "seen", 100, 1000)}  # type: ignore[dict-item]
    report = compare(_snap(**parts))
    diff = report.difference(Kind.REMOTE_UNPROCESSED)
    assert diff is not None
    assert diff.files == (B, C)
    assert diff.matters
    assert not report.healthy
    assert "sync --server main" in diff.recommendation
    assert report.counts.registry == {"imported": 1, "seen": 1}


def test_local_not_in_registry() -> None:
    parts = _consistent([A])
    parts["local"] = {A: LocalFile(A, 100), B: LocalFile(B, 100)}
    diff = compare(_snap(**parts)).difference(Kind.LOCAL_UNREGISTERED)
    assert diff is not None
    assert diff.files == (B,)


def test_registry_imported_without_round_counts_recoverable_copies() -> None:
    parts = _consistent([A, B, C])
    parts["rounds"] = {}
    parts["local"] = {A: LocalFile(A, 100)}
    parts["remote"] = {B: RemoteFile(B, 100, 1000)}
    report = compare(_snap(**parts))
    diff = report.difference(Kind.IMPORTED_WITHOUT_ROUND)
    assert diff is not None
    assert diff.files == (A, B, C)
    assert "re-imports the 2 that still have" in diff.recommendation
    # the missing local copies are not ALSO reported as harmless: their data is gone
    assert report.difference(Kind.MISSING_LOCALLY) is None


def test_round_without_registry_row_or_with_wrong_row() -> None:
    parts = _consistent([A, B, C])
    reg = dict(parts["registry"])  # type: ignore[call-overload]
    del reg[A]
    reg[B] = RegistryEntry(B, "failed", 100, 1000, None, attempts=2, last_error="boom")
    reg[C] = RegistryEntry(C, "imported", 100, 1000, "other-sha", round_id=2)
    parts["registry"] = reg
    report = compare(_snap(**parts))
    diff = report.difference(Kind.ROUND_WITHOUT_REGISTRY)
    assert diff is not None
    assert diff.files == (A, B, C)
    assert "registry repair --apply" in diff.recommendation
    # a file with a round is never "never processed", even though the registry has no row
    assert report.difference(Kind.REMOTE_UNPROCESSED) is None


def test_changed_on_server_after_import() -> None:
    parts = _consistent([A, B])
    parts["remote"] = {A: RemoteFile(A, 100, 1000), B: RemoteFile(B, 120, 1005)}
    diff = compare(_snap(**parts)).difference(Kind.CHANGED_AFTER_IMPORT)
    assert diff is not None
    assert diff.files == (B,)
    assert "server now size 120" in diff.errors[B]


def test_failed_and_quarantined_carry_their_errors() -> None:
    reg = {
        A: RegistryEntry(A, "failed", 10, 1, None, attempts=3, last_error="incomplete: no final newline"),
        B: RegistryEntry(
            B, "quarantined", 10, 1, None, last_error=f"{B}: line 3, field extras[2]: not an int"
        ),
    }
    report = compare(_snap(remote={}, local={}, registry=reg, rounds={}))
    failed = report.difference(Kind.FAILED)
    quarantined = report.difference(Kind.QUARANTINED)
    assert failed is not None
    assert failed.errors == {A: "attempt 3: incomplete: no final newline"}
    assert quarantined is not None
    assert "line 3, field extras[2]" in quarantined.errors[B]


def test_unreachable_server_reports_unknown_remote_and_still_compares_the_rest() -> None:
    parts = _consistent([A, B])
    parts["remote"] = None
    parts["rounds"] = {A: RoundEntry(0, A, f"sha-{A}")}
    report = compare(_snap(remote_error="connection refused", **parts))
    assert not report.reachable
    assert not report.healthy
    assert report.counts.remote is None
    assert report.remote_error == "connection refused"
    diff = report.difference(Kind.IMPORTED_WITHOUT_ROUND)
    assert diff is not None
    assert diff.files == (B,)


def test_rejected_names_and_companions() -> None:
    ends = "2024-03-24-210000-supply-round-1-endstats.txt"
    parts = _consistent([A])
    parts["remote"] = {
        A: RemoteFile(A, 100, 1000),
        ends: RemoteFile(ends, 50, 1000),
        "matchid.txt": RemoteFile("matchid.txt", 5, 1000),
    }
    report = compare(_snap(**parts))
    rejected = report.difference(Kind.REJECTED_NAMES)
    assert rejected is not None
    assert rejected.files == ("matchid.txt",)
    assert not rejected.matters
    unprocessed = report.difference(Kind.REMOTE_UNPROCESSED)
    assert unprocessed is not None
    assert unprocessed.files == (ends,)


def test_a_file_on_the_server_and_local_but_unregistered_is_listed_once() -> None:
    parts = _consistent([A])
    parts["remote"] = {A: RemoteFile(A, 100, 1000), B: RemoteFile(B, 100, 1000)}
    parts["local"] = {A: LocalFile(A, 100), B: LocalFile(B, 100)}
    report = compare(_snap(**parts))
    assert [d.kind for d in report.differences] == [Kind.REMOTE_UNPROCESSED]
    diff = report.difference(Kind.REMOTE_UNPROCESSED)
    assert diff is not None
    assert diff.files == (B,)
    assert diff.recommendation.startswith("1 file on the server never processed, 2024-05-01:")
