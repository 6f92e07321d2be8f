"""Shared fixtures: paths to the real sample files beside the project."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_SAMPLES = PROJECT_ROOT.parent / "shared" / "samples" / "real"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The 61 real stats files (+ one endstats) from ../shared/samples/real/."""
    if not SHARED_SAMPLES.is_dir():
        pytest.fail(f"real samples not found at {SHARED_SAMPLES}: ../shared must sit beside the project")
    return SHARED_SAMPLES
