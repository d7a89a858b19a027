"""The base of every use case: repositories, people, reviews, reminders, discussions, the
messenger and the tick's kick."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import Settings
from bot.domain.lesson import Catalog
from bot.services.catalog import CatalogService
from bot.services.discussions import DiscussionService
from bot.services.metrics import Metrics
from bot.services.notices import Notices
from bot.services.people import People
from bot.services.reminders import ReminderService
from bot.services.reviews import ReviewService
from bot.services.roles import Roles
from bot.services.targets import Targets
from bot.slack.messenger import SlackMessenger
from bot.slack.render import SlackComposer
from bot.storage.answers import AnswerRepository
from bot.storage.auto_pauses import AutoPauseRepository
from bot.storage.cards import CardRepository
from bot.storage.content import ContentRepository
from bot.storage.db import Database
from bot.storage.discussions import DiscussionRepository
from bot.storage.drips import DripRepository
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.insights import InsightsRepository
from bot.storage.learners import LearnerRepository
from bot.storage.outbox import Outbox
from bot.storage.reminders import FollowupRepository
from bot.storage.review_load import ReviewLoadRepository


class Kick:
    """Wakes the delivery tick early (set once the ticker exists); a no-op until then."""

    def __init__(self) -> None:
        self.target: Callable[[], None] | None = None

    def __call__(self) -> None:
        if self.target is not None:
            self.target()


@dataclass(frozen=True)
class Core:
    """What most use cases are built on: the repositories, people, reviews, reminders and
    discussions, the messenger and the tick's kick."""

    settings: Settings
    db: Database
    messenger: SlackMessenger
    composer: SlackComposer
    kick: Kick
    catalog: CatalogService
    drips: DripRepository
    learners: LearnerRepository
    enrolments: EnrolmentRepository
    outbox: Outbox
    notices: Notices
    answers: AnswerRepository
    cards: CardRepository
    insights: InsightsRepository
    people: People
    roles: Roles
    targets: Targets
    reviews: ReviewService
    reminders: ReminderService
    discussions: DiscussionService
    clock: Callable[[], datetime]
    metrics: Metrics


def build_core(
    settings: Settings,
    db: Database,
    catalog: Catalog,
    messenger: SlackMessenger,
    *,
    clock: Callable[[], datetime],
    metrics: Metrics,
) -> Core:
    catalog_service = CatalogService(catalog, ContentRepository(db))
    repository = DripRepository(db)
    learners = LearnerRepository(db)
    outbox = Outbox(db)
    notices = Notices(outbox)
    answers = AnswerRepository(db)
    cards = CardRepository(db)
    kick = Kick()
    composer = SlackComposer()
    people = People(learners, messenger, admins=settings.admins)
    return Core(
        settings=settings,
        db=db,
        messenger=messenger,
        composer=composer,
        kick=kick,
        catalog=catalog_service,
        drips=repository,
        learners=learners,
        enrolments=EnrolmentRepository(db),
        outbox=outbox,
        notices=notices,
        answers=answers,
        cards=cards,
        insights=InsightsRepository(db),
        people=people,
        roles=Roles(people),
        targets=Targets(messenger=messenger, bot_user_id=messenger.bot_user_id),
        reviews=ReviewService(
            cards=cards,
            learners=learners,
            outbox=outbox,
            load=ReviewLoadRepository(db),
            per_day=settings.reviews_per_day,
        ),
        reminders=reminder_service(settings, db),
        discussions=DiscussionService(
            repository=DiscussionRepository(db),
            answers=answers,
            outbox=outbox,
            notices=notices,
            messenger=messenger,
            composer=composer,
            catalog=catalog_service,
            nudge_after=timedelta(hours=settings.nudge_after_hours),
            kick=kick,
        ),
        clock=clock,
        metrics=metrics,
    )


def reminder_service(settings: Settings, db: Database) -> ReminderService:
    return ReminderService(
        repository=FollowupRepository(db),
        pauses=AutoPauseRepository(db),
        hours=settings.remind_hours,
        limit=settings.reminders,
        pause_after=settings.auto_pause_after,
    )
