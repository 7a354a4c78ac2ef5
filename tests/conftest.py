"""Shared test fixtures: where the vendored data and the ../shared corpora live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SYZKALLER = DATA / "syzkaller" / "linux"
VECTORS = DATA / "drm-panic-qr"


def shared_dir() -> Path | None:
    """The workplace's shared/ folder (photos), or None when this checkout has none beside it."""
    env = os.environ.get("KPANIC_SHARED")
    for cand in ([Path(env)] if env else []) + [
        ROOT.parent / "shared",
        ROOT.parent.parent / "shared",
    ]:
        if (cand / "photos").is_dir():
            return cand
    return None


def require_shared(sub: str) -> Path:
    """Return shared/<sub>, or skip visibly; in CI (KPANIC_REQUIRE_SHARED=1) a miss is a failure."""
    base = shared_dir()
    if base is None or not (base / sub).exists():
        msg = f"shared/{sub} is not beside this checkout (set KPANIC_SHARED to its path)"
        if os.environ.get("KPANIC_REQUIRE_SHARED") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return base / sub


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-fixtures",
        action="store_true",
        default=False,
        help="rewrite the expectations in kpanic's own fixture files from the current output",
    )


@pytest.fixture
def update_fixtures(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-fixtures"))
