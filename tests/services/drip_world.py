"""The drip services over one database and a fake Slack, as bot.app builds them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from bot.content.loader import load_catalog
from bot.domain.lesson import Catalog
from bot.services.catalog import CatalogService
from bot.services.compose import DeliveryComposer
from bot.services.drain import Drain
from bot.services.drips import Drips
from bot.services.failures import FailurePolicy
from bot.services.notices import Notices
from bot.services.pacing import Pacer
from bot.services.people import People
from bot.services.planner import Planner
from bot.services.posting import Poster
from bot.services.roles import Roles
from bot.services.scheduling import Scheduling
from bot.services.self_service import SelfService
from bot.services.targets import Targets
from bot.slack.render import SlackComposer
from bot.storage.content import ContentRepository
from bot.storage.db import Database
from bot.storage.drips import DripRepository
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.learners import LearnerRepository
from bot.storage.outbox import Claimed, Outbox
from bot.storage.plan import PlanRepository
from tests.services.fake_slack import FakeMessenger

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday: 10:00 in Berlin
TEAM = "T1"
LEAD = "ULEAD"
ANN = "UANN"  # in Berlin
BOB = "UBOB"  # in New York
COURSE = "security-basics"


@dataclass
class DripWorld:
    db: Database
    slack: FakeMessenger
    repository: DripRepository
    learners: LearnerRepository
    enrolments: EnrolmentRepository
    outbox: Outbox
    notices: Notices
    catalog: CatalogService
    scheduling: Scheduling
    self_service: SelfService
    drips: Drips
    kicks: list[int]

    def queued(self, *, now: datetime = NOW) -> list[Claimed]:
        """Everything due in the outbox by `now` (taken, as the drain would take it)."""
        return self.outbox.claim(now=now, lease=timedelta(minutes=5), limit=1_000)


@cache
def lessons() -> Catalog:
    """The lessons folder, read once per test process."""
    return load_catalog(Path("lessons")).catalog


def drip_world(db: Database) -> DripWorld:
    slack = FakeMessenger()
    slack.add_person(LEAD, "lead", tz="Europe/London")
    slack.add_person(ANN, "ann", tz="Europe/Berlin")
    slack.add_person(BOB, "bob", tz="America/New_York")
    catalog = CatalogService(lessons(), ContentRepository(db))
    catalog.sync(now=NOW)
    repository, outbox = DripRepository(db), Outbox(db)
    learners, enrolments = LearnerRepository(db), EnrolmentRepository(db)
    notices = Notices(outbox)
    people = People(learners, slack, admins=frozenset({LEAD}))
    roles = Roles(people)
    kicks: list[int] = []

    def kick() -> None:
        kicks.append(1)

    return DripWorld(
        db=db,
        slack=slack,
        repository=repository,
        learners=learners,
        enrolments=enrolments,
        outbox=outbox,
        notices=notices,
        catalog=catalog,
        scheduling=Scheduling(
            repository=repository,
            learners=learners,
            enrolments=enrolments,
            outbox=outbox,
            notices=notices,
            catalog=catalog,
            people=people,
            roles=roles,
            targets=Targets(messenger=slack, bot_user_id=slack.bot_user_id),
            bot_user_id=slack.bot_user_id,
            kick=kick,
        ),
        self_service=SelfService(
            repository=repository,
            learners=learners,
            enrolments=enrolments,
            outbox=outbox,
            notices=notices,
            catalog=catalog,
            people=people,
            kick=kick,
        ),
        drips=Drips(repository=repository, enrolments=enrolments, roles=roles, kick=kick),
        kicks=kicks,
    )


class Clock:
    """A settable clock whose sleep moves it on (no real waiting)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def planner_for(world: DripWorld) -> Planner:
    """The plan step as bot.app builds it (a 12-hour grace)."""
    return Planner(
        plans=PlanRepository(world.db),
        repository=world.repository,
        notices=world.notices,
        catalog=world.catalog,
        grace=timedelta(hours=12),
    )


def drain_for(world: DripWorld, clock: Clock, *, pacer: Pacer | None = None) -> Drain:
    """The sending step as bot.app builds it, posting to the world's fake Slack."""
    failures = FailurePolicy(
        outbox=world.outbox,
        enrolments=world.enrolments,
        notices=world.notices,
        catalog=world.catalog,
        clock=clock,
    )
    poster = Poster(
        outbox=world.outbox,
        learners=world.learners,
        catalog=world.catalog,
        messenger=world.slack,
        compose=DeliveryComposer(catalog=world.catalog, composer=SlackComposer()),
        failures=failures,
        pacer=pacer or Pacer(rate=1_000, burst=1_000),
        clock=clock,
        sleep=clock.sleep,
    )
    return Drain(outbox=world.outbox, planner=planner_for(world), poster=poster, clock=clock)
