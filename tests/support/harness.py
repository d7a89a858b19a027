"""The real bot in this process, over HTTP, against the Slack stand-in, on a clock tests control.

Listeners run before the HTTP response returns (`process_before_response`), so when a driver
call comes back, everything the bot did for it has happened: no waiting in tests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App

from bot import app, bolt_app
from bot.config import settings_from
from bot.content.loader import load_catalog
from bot.domain.lesson import Catalog
from bot.sandbox.slack.server.plumbing import PromptShutdown, ReusedThreads
from bot.services import Services
from bot.services.delivery import TickReport
from bot.services.metrics import NO_METRICS, Metrics
from bot.slack.throttle import Throttle
from bot.storage.content import ContentRepository
from bot.storage.db import Database
from tests.standin import DriverResponse, SlackDriver, SlackStandIn
from tests.support import databases
from tests.support.process import LESSONS, SIGNING_SECRET

START = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # a Monday, before anyone's 09:30 in Europe


class FakeClock:
    """Now, as tests decide; `sleep` moves it forward instead of waiting."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start
        self.slept = 0.0

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.now += timedelta(seconds=seconds)

    def set(self, instant: datetime) -> None:
        self.now = instant

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


class _Threads(PromptShutdown, ReusedThreads, WSGIServer):
    pass


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@dataclass
class Bot:
    services: Services
    standin: SlackStandIn
    driver: SlackDriver
    clock: FakeClock
    db: Database
    lead: str
    bolt: App
    reports: list[TickReport] = field(default_factory=list)

    def command(self, user_id: str, text: str, *, channel_id: str | None = None) -> str:
        """Run `/learn …` and return the private reply's text (ack body or response URL)."""
        before = self.standin.response_count()
        response: DriverResponse = self.driver.command(user_id, text, channel_id=channel_id)
        assert response.status == 200, response.body
        replies = self.standin.responses(since=before)
        texts = [str((reply.get("body") or {}).get("text", "")) for reply in replies]
        if response.body:
            texts.insert(0, str(response.payload().get("text", "")))
        return "\n".join(texts)

    def tick(self, at: datetime | None = None) -> TickReport:
        if at is not None:
            self.clock.set(at)
        report = self.services.delivery.tick(self.clock())
        self.reports.append(report)
        return report

    def dm(self, user_id: str) -> list[dict[str, Any]]:
        return self.standin.messages(user_id)


@cache
def _catalog(lessons: Path) -> Catalog:
    return load_catalog(lessons).catalog


def sync_shipped_lessons(db: Database) -> None:
    """What `running_bot` with the shipped lessons syncs as it starts, done ahead: a database
    prepared so (see `shipped_lessons` in tests/conftest.py) gives that sync nothing to write."""
    ContentRepository(db).sync(_catalog(LESSONS), now=START)


@contextmanager
def running_bot(
    standin: SlackStandIn,
    database_url: str,
    *,
    catalog: Catalog | None = None,
    lessons: Path = LESSONS,
    env: dict[str, str] | None = None,
    process_before_response: bool = True,
    metrics: Metrics = NO_METRICS,
    synced: bool = False,
) -> Iterator[Bot]:
    """`process_before_response=False` runs listeners as `microlearn serve` does: after the ack,
    on Bolt's executor, so a driver call can come back before its work is done.

    `synced`: the database holds the shipped lessons as the start-up sync leaves them (see
    `shipped_lessons` in tests/conftest.py): that sync, which would find nothing to write, is
    left out."""
    assert not synced or (catalog is None and lessons == LESSONS), "synced: shipped lessons"
    lead = standin.add_user("lena", real_name="Lena Lead", tz="Europe/Berlin", is_admin=True)
    settings = settings_from(
        {
            "SLACK_BOT_TOKEN": standin.bot_token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": standin.api_url,
            "DATABASE_URL": database_url,
            "LESSONS_DIR": str(lessons),
            "MICROLEARN_SEND_RATE": "50",
            "MICROLEARN_SEND_BURST": "50",
            **(env or {}),
        }
    )
    clock = FakeClock()
    # Shared counters are rewritten quickly here (their pacing is tested on its own), and not
    # after the test: a rewrite left for later would reach the next test's Slack.
    throttle = Throttle(per_message=0.05)
    db = Database(settings.database_url, statements=databases.STATEMENTS)
    services = app.build_services(
        settings, db, catalog or _catalog(lessons), clock=clock, sleep=clock.sleep, metrics=metrics
    )
    if not synced:
        services.catalog.sync(now=clock())
    bolt = bolt_app.build_bolt_app(
        settings,
        services,
        process_before_response=process_before_response,
        token_verification_enabled=False,
        throttle=throttle,
    )
    wsgi = bolt_app.http_app(settings, db, bolt)
    server = make_server("127.0.0.1", 0, wsgi, server_class=_Threads, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
    driver = SlackDriver(standin, request_url=url, signing_secret=SIGNING_SECRET)
    try:
        yield Bot(services, standin, driver, clock, db, lead, bolt)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        throttle.stop()
        db.dispose()


@contextmanager
def module_bot(template: Path, folder: Path) -> Iterator[Bot]:
    """A bot on a copy of the migrated SQLite template, with its own stand-in: for a module
    whose tests share one workspace (each checking that it changed nothing)."""
    url = databases.copy_sqlite(template, folder / "microlearn.db")
    with SlackStandIn() as standin, running_bot(standin, url) as bot:
        yield bot
