"""`microlearn sandbox`: the bot against a local Slack, and the page, until Ctrl-C."""

from __future__ import annotations

import logging
import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TextIO

from bot.config import Settings
from bot.preflight import MANIFEST
from bot.sandbox.api import Api
from bot.sandbox.client import PersonClient
from bot.sandbox.clock import SandboxClock
from bot.sandbox.page import PageState
from bot.sandbox.web import PageServer
from bot.sandbox.world import World

log = logging.getLogger(__name__)

DB_FILE = "sandbox.db"
# slack_sdk honours these but not NO_PROXY: loopback calls to the local Slack would go out.
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")


class SandboxError(Exception):
    """The sandbox cannot start; the message says why and what to do."""


@dataclass(frozen=True)
class Parts:
    """One world and what the page uses of it (replaced together on reset)."""

    world: World
    client: PersonClient
    page: PageState


class Sandbox:
    """The running sandbox: its folder, its current world, and the reset that replaces it."""

    def __init__(self, base: Settings, *, lessons: Path, folder: Path) -> None:
        self._base = base
        self._lessons = lessons
        self.db_file = folder / DB_FILE
        self._lock = threading.Lock()
        self._parts: Parts | None = None

    def parts(self) -> Parts:
        parts = self._parts
        if parts is None:
            raise RuntimeError("the sandbox is not started")
        return parts

    def start(self) -> None:
        """A fresh workspace and database (what an earlier run left is replaced)."""
        with self._lock:
            self._remove_database()
            world = World(
                self._base, lessons=self._lessons, db_file=self.db_file, clock=SandboxClock()
            )
            world.start()
            client = PersonClient(world.standin, world.driver)
            self._parts = Parts(world=world, client=client, page=PageState(world, client))

    def reset(self) -> None:
        """Back to the first minute: new people, empty database, the clock at real time."""
        old = self._parts
        if old is not None:
            old.world.stop()
        self.start()
        if old is not None:
            old.world.standin.touch()  # pages waiting on the old world ask again

    def stop(self) -> None:
        with self._lock:
            if self._parts is not None:
                self._parts.world.stop()
                self._parts = None

    def _remove_database(self) -> None:
        for suffix in ("", "-wal", "-shm", "-writer.lock"):
            Path(f"{self.db_file}{suffix}").unlink(missing_ok=True)


def connect_guide() -> str:
    """The short paragraph on moving from the sandbox to a real workspace."""
    return (
        "To use a real Slack workspace instead: create an app from the manifest in "
        f"{MANIFEST} (https://api.slack.com/apps → Create New App → From a manifest), install "
        "it, then put its Bot User OAuth Token (xoxb-…) in SLACK_BOT_TOKEN and an app-level "
        "token with connections:write (xapp-…) in SLACK_APP_TOKEN in .env, and run "
        "`make run` again. The README has the steps."
    )


def run_sandbox(base: Settings, *, port: int, lessons: Path, folder: Path, out: TextIO) -> None:
    """Start everything on 127.0.0.1, print the page's address, and serve until SIGTERM/SIGINT."""
    for name in PROXY_VARIABLES:
        os.environ.pop(name, None)
    if base.log_level != "DEBUG":
        # The page is the interface; the plumbing's start-up chatter would bury its address.
        for name in ("apscheduler", "slack_bolt", "slack_sdk", "websockets"):
            logging.getLogger(name).setLevel(logging.WARNING)
    sandbox = Sandbox(base, lessons=lessons, folder=folder)
    try:
        server = PageServer(Api(sandbox), port=port)
    except OSError as error:
        raise SandboxError(
            f"cannot listen on 127.0.0.1:{port} ({error.strerror}); choose another port with "
            "--port or MICROLEARN_SANDBOX_PORT"
        ) from error
    stopping = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        sandbox.start()
        server.start()
        print(f"microlearn sandbox: open {server.url} in your browser", file=out)
        print(
            f"  a local Slack with the real bot, lessons from {lessons}, data in "
            f"{sandbox.db_file} (Ctrl-C stops it)",
            file=out,
        )
        print(f"\n{connect_guide()}", file=out, flush=True)
        stopping.wait()
    finally:
        server.stop()
        sandbox.stop()
        for sig, old in previous.items():
            signal.signal(sig, old)
    print("microlearn sandbox: stopped", file=out, flush=True)
