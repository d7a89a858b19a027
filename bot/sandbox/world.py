"""One sandbox run: the local Slack and its people, the real bot connected to it, one clock."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot import app, preflight
from bot.config import Settings
from bot.sandbox.authoring import LessonWatcher
from bot.sandbox.clock import SandboxClock
from bot.sandbox.slack import SlackDriver, SlackStandIn
from bot.scheduler import Ticker
from bot.server import close_socket_mode
from bot.services.delivery import TickReport
from bot.storage.upcoming import next_due_at

log = logging.getLogger(__name__)

TEAM_NAME = "Sandbox"
TEAM_DOMAIN = "sandbox"
# The sandbox sends a handful of messages at a time: no need for production's gentle pace.
SEND_RATE = 50.0


@dataclass(frozen=True)
class Person:
    user_id: str
    handle: str
    real_name: str
    tz: str
    role: str  # learner | lead | admin


PEOPLE = (
    Person("UPRIYA", "priya", "Priya Raman", "Asia/Kolkata", "learner"),
    Person("UJONAS", "jonas", "Jonas Weber", "Europe/Berlin", "learner"),
    Person("UMAYA", "maya", "Maya Brooks", "America/New_York", "learner"),
    Person("ULENA", "lena", "Lena Fischer", "Europe/Berlin", "lead"),
    Person("USAM", "sam", "Sam Okafor", "America/Los_Angeles", "admin"),
)
LEARNERS = tuple(p.user_id for p in PEOPLE if p.role == "learner")
LEAD = next(p for p in PEOPLE if p.role == "lead")
ADMIN = next(p for p in PEOPLE if p.role == "admin")
EVERYONE = tuple(p.user_id for p in PEOPLE)
# name, members; the bot is in each.
CHANNELS = (
    ("general", EVERYONE),
    ("security-101", (*LEARNERS, LEAD.user_id)),
    ("learning-circle", EVERYONE),
)
USER_GROUPS = (("learners", LEARNERS),)


@dataclass(frozen=True)
class Jump:
    """What a jump of the clock did."""

    now: datetime
    moved: timedelta
    report: TickReport | None


def seed(standin: SlackStandIn) -> None:
    """The sandbox's workspace: learners in three zones, a lead, an admin, a few channels."""
    for person in PEOPLE:
        standin.add_user(
            person.handle,
            user_id=person.user_id,
            real_name=person.real_name,
            tz=person.tz,
            is_admin=person.role == "admin",
        )
    for name, members in CHANNELS:
        standin.add_channel(name, members=members)
    for handle, members in USER_GROUPS:
        standin.add_usergroup(handle, members, name=handle.title())
    for person in PEOPLE:
        standin.dm_channel(person.user_id)


def bot_settings(
    base: Settings, standin: SlackStandIn, *, lessons: Path, db_file: Path
) -> Settings:
    """The operator's settings, pointed at the local Slack and the sandbox's own database."""
    return replace(
        base,
        slack_bot_token=standin.bot_token,
        slack_app_token=standin.app_token,
        slack_signing_secret=None,
        slack_api_url=standin.api_url,
        database_url=f"sqlite:///{db_file}",
        lessons_dir=lessons,
        send_rate_per_second=max(base.send_rate_per_second, SEND_RATE),
        send_burst=max(base.send_burst, int(SEND_RATE)),
    )


class World:
    """Starts Slack, the database, the bot, Socket Mode, the tick and the lesson watcher."""

    def __init__(
        self, base: Settings, *, lessons: Path, db_file: Path, clock: SandboxClock
    ) -> None:
        self.clock = clock
        self.lessons_folder = lessons
        self.standin = SlackStandIn(
            team_name=TEAM_NAME,
            team_domain=TEAM_DOMAIN,
            wall_clock=clock,
            ts_clock=clock.timestamp,
        )
        self.driver = SlackDriver(self.standin, mode="socket")
        self._base = base
        self._db_file = db_file
        self._lock = threading.Lock()
        self._ticking = threading.Lock()
        self._stopping = threading.Event()
        self._handler: SocketModeHandler | None = None
        self.container: app.Container | None = None
        self.lessons: LessonWatcher | None = None

    def start(self, *, fresh: bool = True) -> None:
        self._stopping.clear()
        self.standin.start()
        if fresh:
            seed(self.standin)
        settings = bot_settings(
            self._base, self.standin, lessons=self.lessons_folder, db_file=self._db_file
        )
        first = preflight.check_content(self.lessons_folder)
        db = app.open_database(settings)
        try:
            app.upgrade_database(db)
        finally:
            db.dispose()
        container = app.build(settings, catalog=first.catalog, clock=self.clock, sleep=self._pace)
        self.container = container
        container.services.catalog.sync(now=self.clock())
        self._handler = SocketModeHandler(
            container.bolt,
            self.standin.app_token,
            web_client=container.bolt.client,
            concurrency=settings.listener_threads,
        )
        self._handler.connect()  # type: ignore[no-untyped-call]
        # The sandbox's own tick: on the sandbox clock (APScheduler keeps to the wall clock for
        # when to run it), with the lessons as they are on disk, and the page told afterwards.
        container.ticker = Ticker(
            lambda _scheduled: self.tick(),
            seconds=settings.tick_seconds,
            upkeep=container.db.checkpoint,
        )
        container.services_kick.target = container.ticker.kick
        container.ticker.start()
        self.lessons = LessonWatcher(
            self.lessons_folder,
            first,
            container.services.catalog,
            clock=self.clock,
            on_change=self.standin.touch,
        )
        self.lessons.start()
        if fresh:
            # The lead gets the role the way a real admin grants it: with a command.
            self.driver.command(ADMIN.user_id, f"leads add <@{LEAD.user_id}>")
            # The bot answers after acknowledging; the page opens once the lead is a lead.
            self.standin.wait_for(lambda: bool(self.standin.ephemerals(user=ADMIN.user_id)), 10)

    def _pace(self, seconds: float) -> None:
        """A post's wait for its turn (a channel takes about one message a second), cut short
        when the sandbox stops: what is still going out then goes at once, instead of holding
        the stop for as many seconds as it has posts left."""
        self._stopping.wait(seconds)

    def stop(self) -> None:
        self._stopping.set()
        if self.lessons is not None:
            self.lessons.stop()
        if self._handler is not None:
            close_socket_mode(self._handler)  # at once, not after the client's timeouts
        if self.container is not None:
            self.container.close()
        self.standin.stop()

    @property
    def bot(self) -> app.Container:
        if self.container is None:
            raise RuntimeError("the sandbox is not started")
        return self.container

    def next_due(self) -> datetime | None:
        return next_due_at(self.bot.db, after=self.clock())

    def jump(self, *, to_next: bool) -> Jump:
        """Move the clock to the next due delivery (or a day on), then tick at once."""
        with self._lock:
            self.tick()  # people whose zone was not known yet get their first slot
            before = self.clock()
            if to_next:
                target = self.next_due()
                if target is None:
                    return Jump(now=before, moved=timedelta(0), report=None)
            else:
                target = before + timedelta(days=1)
            # The sandbox's own tick must not run between the jump and ours: what falls due at
            # the new time is this tick's to send, and to count in what the page is told.
            self.refresh_lessons()
            with self._ticking:
                now = self.clock.jump_to(target)
                report = self.bot.services.delivery.tick(self.clock())
            self.standin.touch()
            return Jump(now=now, moved=now - before, report=report)

    def refresh_lessons(self) -> None:
        if self.lessons is not None:
            self.lessons.refresh()

    def tick(self) -> TickReport:
        """One plan-and-send pass on the sandbox clock, with the lessons as they are on disk."""
        self.refresh_lessons()
        with self._ticking:
            report = self.bot.services.delivery.tick(self.clock())
        self.standin.touch()
        return report
