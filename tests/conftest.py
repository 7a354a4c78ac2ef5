"""Shared test fixtures: where the vendored data and the ../shared corpora live."""

from __future__ import annotations

import os
from collections.abc import Iterator
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


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    pg = context.new_page()
    yield pg
    context.close()
