"""The use cases assembled over one database: `build_services` and the groups it wires."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk import WebClient

from bot.bolt_app import slack_messenger
from bot.config import Settings
from bot.domain.lesson import Catalog
from bot.scheduler import utc_now
from bot.services import Services
from bot.services.after_answer import AfterAnswer
from bot.services.catalog import CatalogService
from bot.services.compose import DeliveryComposer
from bot.services.dashboard import DashboardService
from bot.services.delivery import DeliveryService
from bot.services.digests import DigestService
from bot.services.discussions import DiscussionService
from bot.services.drain import Drain
from bot.services.drips import Drips
from bot.services.failures import FailurePolicy
from bot.services.gamify import GamifyService
from bot.services.inbox import Inbox
from bot.services.installations import Installations
from bot.services.lead_reports import LeadReports
from bot.services.leaderboards import LeaderboardService
from bot.services.metrics import NO_METRICS, Metrics
from bot.services.notices import Notices
from bot.services.pacing import Pacer
from bot.services.people import People
from bot.services.planner import Planner
from bot.services.posting import Poster
from bot.services.privacy import PrivacyService
from bot.services.profiles import ProfileRefresh
from bot.services.quiz import QuizService
from bot.services.reminders import ReminderService
from bot.services.replays import ReplayGuard
from bot.services.reports import ReportService
from bot.services.reviews import ReviewService
from bot.services.roles import Roles
from bot.services.scheduling import Scheduling
from bot.services.self_service import SelfService
from bot.services.skills import SkillService, enrolled_courses
from bot.services.targets import Targets
from bot.slack.app_home import AppHome
from bot.slack.messenger import SlackMessenger
from bot.slack.render import SlackComposer
from bot.storage.answers import AnswerRepository
from bot.storage.auto_pauses import AutoPauseRepository
from bot.storage.cards import CardRepository
from bot.storage.content import ContentRepository
from bot.storage.dashboard import DashboardRepository
from bot.storage.db import Database
from bot.storage.discussions import DiscussionRepository
from bot.storage.drips import DripRepository
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.gamify import GamifyRepository
from bot.storage.insights import InsightsRepository
from bot.storage.installations import InstallationRepository
from bot.storage.learners import LearnerRepository
from bot.storage.lookups import LookupLeases
from bot.storage.outbox import Outbox
from bot.storage.people import PersonRepository
from bot.storage.plan import PlanRepository
from bot.storage.reminders import FollowupRepository
from bot.storage.requests import AcceptedRequests
from bot.storage.review_load import ReviewLoadRepository
from bot.storage.send_rate import SharedSendRate


class Kick:
    """Wakes the delivery tick early (set once the ticker exists); a no-op until then."""

    def __init__(self) -> None:
        self.target: Callable[[], None] | None = None

    def __call__(self) -> None:
        if self.target is not None:
            self.target()


def build_services(
    settings: Settings,
    db: Database,
    catalog: Catalog,
    *,
    client: WebClient | None = None,
    clock: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    metrics: Metrics = NO_METRICS,
) -> Services:
    """The use cases over one database; Slack calls with SLACK_BOT_TOKEN, or with OAuth the
    token each workspace installed the app with."""
    installations = (
        Installations(InstallationRepository(db), once=ReplayGuard(AcceptedRequests(db)))
        if settings.oauth
        else None
    )
    messenger = slack_messenger(settings, installations, client=client, metrics=metrics)
    core = _core(settings, db, catalog, messenger, clock=clock, metrics=metrics)
    privacy = PrivacyService(
        people=PersonRepository(db),
        learners=core.learners,
        enrolments=core.enrolments,
        notices=core.notices,
        retention_days=settings.retention_days,
        kick=core.kick,
    )
    digests = _digests(core)
    delivery = _delivery(core, privacy=privacy, digests=digests, sleep=sleep)
    learning = _learning(core)
    reports = _reports(core)
    return Services(
        catalog=core.catalog,
        people=core.people,
        roles=core.roles,
        targets=core.targets,
        scheduling=_scheduling(core),
        drips=Drips(
            repository=core.drips, enrolments=core.enrolments, roles=core.roles, kick=core.kick
        ),
        self_service=_self_service(core),
        delivery=delivery,
        quiz=learning.quiz,
        after_answer=AfterAnswer(
            quiz=learning.quiz,
            discussions=core.discussions,
            homes=AppHome(
                dashboard=learning.dashboard, people=core.people, messenger=messenger, clock=clock
            ),
        ),
        reports=reports,
        discussions=core.discussions,
        inbox=Inbox(notices=core.notices, learners=core.learners, kick=core.kick),
        privacy=privacy,
        clock=clock,
        reminders=core.reminders,
        installations=installations,
        gamify=learning.gamify,
        leaderboards=learning.leaderboards,
        skills=learning.skills,
        lead_reports=LeadReports(
            reports=reports,
            insights=core.insights,
            answers=core.answers,
            roles=core.roles,
            targets=core.targets,
            learners=core.learners,
            people=core.people,
            messenger=messenger,
        ),
        digests=digests,
        dashboard=learning.dashboard,
        metrics=metrics,
    )


@dataclass(frozen=True)
class _Core:
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


def _core(
    settings: Settings,
    db: Database,
    catalog: Catalog,
    messenger: SlackMessenger,
    *,
    clock: Callable[[], datetime],
    metrics: Metrics,
) -> _Core:
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
    return _Core(
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
        reminders=ReminderService(
            repository=FollowupRepository(db),
            pauses=AutoPauseRepository(db),
            hours=settings.remind_hours,
            limit=settings.reminders,
            pause_after=settings.auto_pause_after,
        ),
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


def _scheduling(core: _Core) -> Scheduling:
    return Scheduling(
        repository=core.drips,
        learners=core.learners,
        enrolments=core.enrolments,
        outbox=core.outbox,
        notices=core.notices,
        catalog=core.catalog,
        people=core.people,
        roles=core.roles,
        targets=core.targets,
        bot_user_id=core.messenger.bot_user_id,
        kick=core.kick,
    )


def _self_service(core: _Core) -> SelfService:
    return SelfService(
        repository=core.drips,
        learners=core.learners,
        enrolments=core.enrolments,
        outbox=core.outbox,
        notices=core.notices,
        catalog=core.catalog,
        people=core.people,
        kick=core.kick,
        reviews=core.reviews,
    )


def _digests(core: _Core) -> DigestService:
    return DigestService(
        insights=core.insights,
        learners=core.learners,
        catalog=core.catalog,
        people=core.people,
        roles=core.roles,
        outbox=core.outbox,
        messenger=core.messenger,
        setting=core.settings.digest,
        kick=core.kick,
    )


def _reports(core: _Core) -> ReportService:
    return ReportService(
        answers=core.answers,
        drips=core.drips,
        learners=core.learners,
        enrolments=core.enrolments,
        catalog=core.catalog,
        reviews=core.reviews,
        discussions=core.discussions,
        insights=core.insights,
        reminders=core.reminders,
    )


def _delivery(
    core: _Core,
    *,
    privacy: PrivacyService,
    digests: DigestService,
    sleep: Callable[[float], None],
) -> DeliveryService:
    settings = core.settings
    senders = {"digest": digests.send}  # outbox kinds that are not messages: a digest uploads
    failures = FailurePolicy(
        outbox=core.outbox,
        enrolments=core.enrolments,
        notices=core.notices,
        catalog=core.catalog,
        clock=core.clock,
        unreported=senders.keys(),
        metrics=core.metrics,
    )
    planner = Planner(
        plans=PlanRepository(core.db),
        repository=core.drips,
        notices=core.notices,
        catalog=core.catalog,
        grace=timedelta(hours=settings.catch_up_grace_hours),
        reviews=core.reviews,
        discussions=core.discussions,
        reminders=core.reminders,
    )
    poster = Poster(
        outbox=core.outbox,
        learners=core.learners,
        catalog=core.catalog,
        messenger=core.messenger,
        compose=DeliveryComposer(
            catalog=core.catalog, composer=core.composer, discussions=core.discussions
        ),
        failures=failures,
        # One rate per workspace for every process and replica on this database.
        pacer=Pacer(
            rate=settings.send_rate_per_second,
            burst=settings.send_burst,
            shared=SharedSendRate(core.db),
        ),
        clock=core.clock,
        sleep=sleep,
        discussions=core.discussions,
        reminders=core.reminders,
        senders=senders,
        metrics=core.metrics,
    )
    return DeliveryService(
        profiles=ProfileRefresh(
            learners=core.learners,
            enrolments=core.enrolments,
            notices=core.notices,
            people=core.people,
            messenger=core.messenger,
            leases=LookupLeases(core.db),
        ),
        planner=planner,
        drain=Drain(
            outbox=core.outbox,
            planner=planner,
            poster=poster,
            clock=core.clock,
            batch=max(10, min(200, int(settings.send_rate_per_second * 15))),
            threads=settings.posts_in_flight,
            metrics=core.metrics,
        ),
        discussions=core.discussions,
        privacy=privacy,
        steps=(digests.plan,),
    )


@dataclass(frozen=True)
class _Learning:
    """Answers, points, badges, leaderboards, mastery, recommendations and App Home's
    dashboard (issue 15)."""

    quiz: QuizService
    gamify: GamifyService
    leaderboards: LeaderboardService
    skills: SkillService
    dashboard: DashboardService


def _learning(core: _Core) -> _Learning:
    game = GamifyRepository(core.db)
    repository, enrolments = core.drips, core.enrolments
    gamify = GamifyService(
        repository=game,
        learners=core.learners,
        enrolments=core.enrolments,
        catalog=core.catalog,
        kick=core.kick,
    )
    leaderboards = LeaderboardService(
        repository=game,
        drips=repository,
        learners=core.learners,
        catalog=core.catalog,
        people=core.people,
        outbox=core.outbox,
        kick=core.kick,
    )
    skills = SkillService(
        repository=game,
        catalog=core.catalog,
        outbox=core.outbox,
        enrolled=lambda team, user: enrolled_courses(enrolments.enrolments(team, recipient=user)),
        kick=core.kick,
    )
    quiz = QuizService(
        answers=core.answers,
        catalog=core.catalog,
        reviews=core.reviews,
        people=core.people,
        gamify=gamify,
        metrics=core.metrics,
    )
    dashboard = DashboardService(  # App Home's dashboard (issue 15 item 1)
        repository=DashboardRepository(core.db),
        drips=repository,
        learners=core.learners,
        enrolments=core.enrolments,
        cards=core.cards,
        game=game,
        catalog=core.catalog,
        people=core.people,
        gamify=gamify,
        leaderboards=leaderboards,
        skills=skills,
        reviews=core.reviews,
        kick=core.kick,
        attention=core.reminders.attention,
    )
    return _Learning(quiz, gamify, leaderboards, skills, dashboard)
