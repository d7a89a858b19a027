"""Headless Chromium for the sandbox's browser tests: Debian's own build, driven by Playwright.

Playwright's own browser download cannot run here; its Python package drives the `chromium`
package instead. Without Chromium the tests skip and say why; on CI (CI=true) they are required.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path(os.environ.get("MICROLEARN_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Every run saves its screenshots here (git ignores build/); the README's are copied from here.
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
# Playwright's expect() retries until this many milliseconds pass: a bound, not a pause.
EXPECT_TIMEOUT_MS = 20_000
# Every address but this machine's. Playwright's driver matches it: the page's own requests go on
# there, and only one for anywhere else would come to this process, to be recorded and refused.
OUTSIDE = re.compile(r"^(?!(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?/)")


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


def require_browser() -> None:
    """Skip (or fail on CI, where the browser tests are required) without Chromium."""
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests are required on CI: {reason}")
    pytest.skip(reason)


def launch() -> Iterator[Browser]:
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, outside: list[str]) -> Page:
    """A page that may load only from this machine; anything else is blocked and recorded."""
    page = browser.new_page(viewport={"width": 1280, "height": 860})

    def refuse(request_route: object) -> None:
        from playwright.sync_api import Route

        assert isinstance(request_route, Route)
        outside.append(request_route.request.url)
        request_route.abort()

    page.route(OUTSIDE, refuse)
    return page


def screenshot(page: Page, name: str) -> Path:
    """Save a screenshot as build/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.locator("#toast").evaluate("toast => { toast.hidden = true; }")
    page.screenshot(path=str(path))
    return path
