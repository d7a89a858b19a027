"""A sandbox in this process: the real bot, the local Slack and the page, in a scratch folder."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.config import settings_from
from bot.sandbox.api import Api
from bot.sandbox.run import Sandbox
from bot.sandbox.web import PageServer
from tests.sandbox import browser
from tests.support.process import LESSONS

if TYPE_CHECKING:
    from playwright.sync_api import Browser

# The browser modules' tests run on one xdist worker, which launches Chromium once for them all
# (the `chromium` fixture below); each module still has its own sandbox and each test its own page.
BROWSER_GROUP = "sandbox-browser"


@dataclass
class RunningSandbox:
    sandbox: Sandbox
    server: PageServer
    folder: Path

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def lessons_folder() -> Path:
    return LESSONS


@pytest.fixture(scope="module")
def running(
    tmp_path_factory: pytest.TempPathFactory, lessons_folder: Path
) -> Iterator[RunningSandbox]:
    folder = tmp_path_factory.mktemp("sandbox")
    sandbox = Sandbox(
        settings_from({"MICROLEARN_LOG_LEVEL": "WARNING"}), lessons=lessons_folder, folder=folder
    )
    sandbox.start()
    server = PageServer(Api(sandbox))
    server.start()
    try:
        yield RunningSandbox(sandbox, server, folder)
    finally:
        server.stop()
        sandbox.stop()


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for every browser test on this worker: launching it is a second
    or more of CPU, and each test opens its own page (its own cookies and storage) in it."""
    yield from browser.launch()
