"""Composition root: the only place that builds engine, services, Bolt app and scheduler."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from slack_bolt import App
from slack_sdk import WebClient

from bot.config import Settings
from bot.domain.lesson import Catalog
from bot.logs import ContextThreadPool
from bot.metrics import PrometheusMetrics
from bot.preflight import StartupError
from bot.scheduler import Ticker, utc_now
from bot.services import Services
from bot.services.after_answer import AfterAnswer
from bot.services.catalog import CatalogService
from bot.services.dashboard import DashboardService
from bot.services.delivery import DeliveryService
from bot.services.digests import DigestService
from bot.services.discussions import DiscussionService
from bot.services.drips import DripService
from bot.services.gamify import GamifyService
from bot.services.inbox import Inbox
from bot.services.installations import Installations
from bot.services.lead_reports import LeadReports
from bot.services.leaderboards import LeaderboardService
from bot.services.metrics import NO_METRICS, Metrics
from bot.services.pacing import Pacer
from bot.services.people import People
from bot.services.privacy import PrivacyService
from bot.services.quiz import QuizService
from bot.services.reminders import ReminderService
from bot.services.replays import ReplayGuard
from bot.services.reports import ReportService
from bot.services.reviews import ReviewService
from bot.services.skills import SkillService, enrolled_courses
from bot.slack.app_home import AppHome
from bot.slack.http import SlackWsgiApp
from bot.slack.installations import OAuthApp, oauth_settings
from bot.slack.listeners import register_listeners
from bot.slack.messenger import SlackMessenger
from bot.slack.metering import meter
from bot.slack.probes import HealthCheck, Scrape
from bot.slack.render import SlackComposer
from bot.slack.settling import SETTLE_THREADS, Settling
from bot.storage import migrate
from bot.storage.answers import AnswerRepository
from bot.storage.backlog import due_backlog
from bot.storage.content import ContentRepository
from bot.storage.dashboard import DashboardRepository
from bot.storage.db import Database, StorageUnavailable
from bot.storage.discussions import DiscussionRepository
from bot.storage.drips import DripRepository
from bot.storage.gamify import GamifyRepository
from bot.storage.insights import InsightsRepository
from bot.storage.installations import InstallationRepository
from bot.storage.outbox import Outbox
from bot.storage.people import PersonRepository
from bot.storage.reminders import FollowupRepository
from bot.storage.requests import AcceptedRequests
from bot.storage.review_load import ReviewLoadRepository
from bot.storage.send_rate import SharedSendRate

log = logging.getLogger(__name__)


@dataclass
class Container:
    """Everything one serving process runs on."""

    settings: Settings
    db: Database
    services: Services
    bolt: App
    ticker: Ticker | None = None
    metrics: PrometheusMetrics | None = None

    def start_ticking(self) -> None:
        self.ticker = Ticker(
            partial(_tick, self.services, budget=_drain_budget(self.settings)),
            seconds=self.settings.tick_seconds,
            upkeep=lambda: upkeep(self.db, now=utc_now()),
            metrics=self.services.metrics,
        )
        self.services_kick.target = self.ticker.kick
        self.ticker.start()

    @property
    def services_kick(self) -> Kick:
        kick = self.services.drips.kick
        assert isinstance(kick, Kick)
        return kick

    def close(self) -> None:
        if self.ticker is not None:
            self.ticker.stop()
        self.db.dispose()


class Kick:
    """Wakes the delivery tick early (set once the ticker exists); a no-op until then."""

    def __init__(self) -> None:
        self.target: Callable[[], None] | None = None

    def __call__(self) -> None:
        if self.target is not None:
            self.target()


def upkeep(db: Database, *, now: datetime) -> None:
    """Every few seconds: SQLite's checkpoint, and forgetting signatures too old to replay."""
    db.checkpoint()
    ReplayGuard(AcceptedRequests(db)).prune(now=now)


def _drain_budget(settings: Settings) -> timedelta:
    return timedelta(seconds=max(60, settings.tick_seconds * 2))


def _tick(services: Services, now: datetime, *, budget: timedelta | None) -> None:
    report = services.delivery.tick(now, budget=budget)
    if report.drain.sent or report.drain.failed:
        log.info(
            "tick: %d sent, %d to retry, %d failed",
            report.drain.sent,
            report.drain.retried,
            report.drain.failed,
        )


def open_database(settings: Settings) -> Database:
    # A connection for every thread that may use one at the same moment (requests, listeners,
    # the scheduler's few; the settling threads spend most of their time waiting on Slack, and
    # a burst of them borrows the pool's overflow): below that, connections are opened and
    # closed under load, and on PostgreSQL each one is a new server process.
    return Database(
        settings.database_url, pool_size=settings.web_threads + settings.listener_threads + 2
    )


def upgrade_database(db: Database) -> tuple[str | None, str]:
    try:
        return migrate.upgrade(db)
    except StorageUnavailable as error:
        raise StartupError(f"cannot migrate the database at DATABASE_URL: {error}") from error


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
    catalog_service = CatalogService(catalog, ContentRepository(db))
    repository = DripRepository(db)
    outbox = Outbox(db)
    people = People(repository, messenger, admins=settings.admins)
    answers = AnswerRepository(db)
    reviews = ReviewService(
        answers=answers,
        drips=repository,
        outbox=outbox,
        load=ReviewLoadRepository(db),
        per_day=settings.reviews_per_day,
    )
    kick = Kick()
    composer = SlackComposer()
    reminders = ReminderService(
        repository=FollowupRepository(db),
        hours=settings.remind_hours,
        limit=settings.reminders,
        pause_after=settings.auto_pause_after,
    )
    discussions = DiscussionService(
        repository=DiscussionRepository(db),
        answers=answers,
        outbox=outbox,
        messenger=messenger,
        composer=composer,
        catalog=catalog_service,
        nudge_after=timedelta(hours=settings.nudge_after_hours),
        kick=kick,
    )
    drips = DripService(
        repository=repository,
        outbox=outbox,
        catalog=catalog_service,
        people=people,
        messenger=messenger,
        bot_user_id=messenger.bot_user_id,
        kick=kick,
        reviews=reviews,
    )
    privacy = PrivacyService(
        people=PersonRepository(db),
        drips=repository,
        outbox=outbox,
        retention_days=settings.retention_days,
        kick=kick,
    )
    insights = InsightsRepository(db)
    digests = DigestService(
        insights=insights,
        repository=repository,
        catalog=catalog_service,
        people=people,
        drips=drips,
        outbox=outbox,
        messenger=messenger,
        setting=settings.digest,
        kick=kick,
    )
    delivery = DeliveryService(
        outbox=outbox,
        repository=repository,
        catalog=catalog_service,
        people=people,
        messenger=messenger,
        composer=composer,
        # One rate per workspace for every process and replica on this database.
        pacer=Pacer(
            rate=settings.send_rate_per_second,
            burst=settings.send_burst,
            shared=SharedSendRate(db),
        ),
        clock=clock,
        sleep=sleep,
        grace=timedelta(hours=settings.catch_up_grace_hours),
        reviews=reviews,
        discussions=discussions,
        reminders=reminders,
        batch=max(10, min(200, int(settings.send_rate_per_second * 15))),
        privacy=privacy,
        steps=(digests.plan,),
        senders={"digest": digests.send},
        metrics=metrics,
        threads=settings.posts_in_flight,
    )
    # Points, badges, leaderboards, mastery and recommendations (issue 15 items 4-6).
    game = GamifyRepository(db)
    gamify = GamifyService(repository=game, drips=repository, catalog=catalog_service, kick=kick)
    leaderboards = LeaderboardService(
        repository=game,
        drips=repository,
        catalog=catalog_service,
        people=people,
        outbox=outbox,
        kick=kick,
    )
    skills = SkillService(
        repository=game,
        catalog=catalog_service,
        outbox=outbox,
        enrolled=lambda team, user: enrolled_courses(repository.enrolments(team, recipient=user)),
        kick=kick,
    )
    reports = ReportService(
        answers=answers,
        drips=repository,
        catalog=catalog_service,
        reviews=reviews,
        discussions=discussions,
        insights=insights,
        reminders=reminders,
    )
    quiz = QuizService(
        answers=answers,
        catalog=catalog_service,
        reviews=reviews,
        people=people,
        gamify=gamify,
        metrics=metrics,
    )
    dashboard = DashboardService(  # App Home's dashboard (issue 15 item 1)
        repository=DashboardRepository(db),
        drips=repository,
        answers=answers,
        game=game,
        catalog=catalog_service,
        people=people,
        gamify=gamify,
        leaderboards=leaderboards,
        skills=skills,
        reviews=reviews,
        kick=kick,
        attention=reminders.attention,
    )
    return Services(
        catalog=catalog_service,
        people=people,
        drips=drips,
        delivery=delivery,
        quiz=quiz,
        after_answer=AfterAnswer(
            quiz=quiz,
            discussions=discussions,
            homes=AppHome(dashboard=dashboard, people=people, messenger=messenger, clock=clock),
        ),
        reports=reports,
        discussions=discussions,
        inbox=Inbox(outbox=outbox, repository=repository, kick=kick),
        privacy=privacy,
        clock=clock,
        reminders=reminders,
        installations=installations,
        gamify=gamify,
        leaderboards=leaderboards,
        skills=skills,
        lead_reports=LeadReports(
            reports=reports,
            insights=insights,
            answers=answers,
            drips=drips,
            repository=repository,
            people=people,
            messenger=messenger,
        ),
        digests=digests,
        dashboard=dashboard,
        metrics=metrics,
    )


def slack_messenger(
    settings: Settings,
    installations: Installations | None,
    *,
    client: WebClient | None = None,
    metrics: Metrics = NO_METRICS,
) -> SlackMessenger:
    """The one outbound path: SLACK_BOT_TOKEN, or with OAuth each workspace's installed token."""
    return SlackMessenger(
        meter(client or slack_client(settings, retries=False), metrics.slack_call),
        tokens=installations.token if installations is not None else None,
    )


def slack_client(settings: Settings, *, retries: bool = True) -> WebClient:
    # With OAuth, each call gets its workspace's token (Bolt's per request, the messenger's).
    token = None if settings.oauth else settings.slack_bot_token
    client = WebClient(token=token, base_url=settings.slack_api_url)
    if not retries:
        client.retry_handlers.clear()
    return client


def build_bolt_app(
    settings: Settings,
    services: Services,
    *,
    process_before_response: bool = False,
    token_verification_enabled: bool = True,
    counter_interval: float = 5.0,
) -> App:
    oauth = None
    if settings.oauth:
        assert services.installations is not None
        assert settings.slack_client_id and settings.slack_client_secret
        assert settings.slack_state_secret
        oauth = oauth_settings(
            OAuthApp(
                client_id=settings.slack_client_id,
                client_secret=settings.slack_client_secret,
                state_secret=settings.slack_state_secret,
                api_url=settings.slack_api_url,
            ),
            services.installations,
            guard=services.installations,
            clock=services.clock,
        )
    app = App(
        logger=_bolt_logger(),
        client=meter(slack_client(settings), services.metrics.slack_call),
        oauth_settings=oauth,
        signing_secret=settings.slack_signing_secret or "",
        # Every HTTP request reaches Bolt through SlackWsgiApp, which has verified its signature,
        # freshness and novelty (see http_app); Socket Mode requests carry no signature.
        request_verification_enabled=False,
        token_verification_enabled=token_verification_enabled,
        process_before_response=process_before_response,
        listener_executor=ContextThreadPool(
            max_workers=settings.listener_threads, thread_name_prefix="listener"
        ),
        name="microlearn",
    )
    register_listeners(
        app,
        services,
        messenger=slack_messenger(settings, services.installations, metrics=services.metrics),
        # Run before the response (tests): everything settles before the request returns.
        settling=Settling(0 if process_before_response else SETTLE_THREADS),
        counter_interval=counter_interval,
    )
    return app


class _DropNoise(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN from the environment is unused when a client is given."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, _DropNoise) for f in logger.filters):
        logger.addFilter(_DropNoise())
    return logger


def build(
    settings: Settings,
    *,
    catalog: Catalog,
    token_verification_enabled: bool = True,
    clock: Callable[[], datetime] = utc_now,
    metrics: bool = False,
    metrics_dir: Path | None = None,
) -> Container:
    """`metrics`: count for `/metrics` (in files under `metrics_dir` when several processes
    serve, see bot.metricsdir)."""
    db = open_database(settings)
    counted = (
        PrometheusMetrics(
            multiprocess_dir=metrics_dir, backlog=lambda: due_backlog(db, now=utc_now())
        )
        if metrics
        else None
    )
    services = build_services(settings, db, catalog, clock=clock, metrics=counted or NO_METRICS)
    bolt = build_bolt_app(settings, services, token_verification_enabled=token_verification_enabled)
    return Container(settings=settings, db=db, services=services, bolt=bolt, metrics=counted)


def metrics_page(metrics: PrometheusMetrics | None) -> Scrape | None:
    return metrics.page if metrics is not None else None


def http_app(
    settings: Settings,
    db: Database,
    bolt: App,
    *,
    clock: Callable[[], datetime] | None = None,
    metrics: PrometheusMetrics | None = None,
) -> SlackWsgiApp:
    """What `serve --http` runs: each request signed, fresh and new before Bolt sees it."""
    if not settings.slack_signing_secret:
        raise StartupError("HTTP mode needs SLACK_SIGNING_SECRET")
    return SlackWsgiApp(
        bolt,
        signing_secret=settings.slack_signing_secret,
        health=health_check(db),
        replays=ReplayGuard(AcceptedRequests(db)),
        clock=clock,
        oauth=bolt.oauth_flow,
        metrics=metrics_page(metrics),
    )


def health_check(db: Database) -> HealthCheck:
    def check() -> dict[str, str]:
        try:
            db.ping()
        except StorageUnavailable as error:
            return {"database": f"unreachable: {error}"[:300]}
        return {"database": "ok"}

    return check
