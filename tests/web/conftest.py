"""Browser tests: Debian's Chromium driven by Playwright against the app under uvicorn on loopback.

Playwright cannot download its own browser here; it launches /usr/bin/chromium. Screenshots go to
a temporary folder (or DUBAN_SCREENSHOT_DIR), never into the repository.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.appworld import AppWorld, LiveServer, app_for, fast_password_hashing, make_world  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


# One browser for the web tests, closed when they end: Playwright's sync API runs an event loop
# in the main thread while it is open, and a later test's asyncio.run would fail beside it.
@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail("Debian chromium is missing: apt-get install -y chromium fonts-noto-cjk "
                    "(scripts/test installs it)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(params=["desktop", "phone"])
def device(request: pytest.FixtureRequest) -> str:
    """The screen a journey runs on (tests/web/devices.py): each journey runs on both."""
    return str(request.param)


@pytest.fixture
def aw(engine) -> AppWorld:  # type: ignore[no-untyped-def]
    return make_world(engine)


@pytest.fixture
def site(aw: AppWorld) -> Iterator[str]:
    with LiveServer(app_for(aw)) as url:
        yield url


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DUBAN_SCREENSHOT_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
