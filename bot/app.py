"""Composition root: the only place that builds engine, services, Bolt app and scheduler."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TextIO

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config import Settings
from bot.content.cues import find_cues
from bot.content.loader import load_catalog
from bot.domain.lesson import Catalog, Source
from bot.logs import ContextThreadPool
from bot.metrics import PrometheusMetrics, mark_process_dead
from bot.scheduler import Ticker, utc_now
from bot.server import (
    ProbesUnavailable,
    SocketModeFailed,
    Worker,
    run_http,
    run_socket_mode,
    serve_probes,
)
from bot.services import Services
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
from bot.services.refused import Refused
from bot.services.reminders import ReminderService
from bot.services.replays import ReplayGuard
from bot.services.reports import ReportService
from bot.services.reviews import ReviewService
from bot.services.skills import SkillService, enrolled_courses
from bot.slack import render
from bot.slack.http import SlackWsgiApp
from bot.slack.installations import INSTALL_PATH, OAuthApp, oauth_settings
from bot.slack.listeners import register_listeners
from bot.slack.messenger import SlackMessenger
from bot.slack.metering import meter
from bot.slack.probes import HealthCheck, Probes, Scrape
from bot.slack.render import SlackComposer
from bot.storage import migrate
from bot.storage.answers import AnswerRepository
from bot.storage.auto_pauses import AutoPauseRepository
from bot.storage.backlog import due_backlog
from bot.storage.content import ContentRepository
from bot.storage.dashboard import DashboardRepository
from bot.storage.db import Database, StorageUnavailable
from bot.storage.discussions import DiscussionRepository
from bot.storage.drips import DripRepository
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.gamify import GamifyRepository
from bot.storage.insights import InsightsRepository
from bot.storage.installations import InstallationRepository
from bot.storage.learners import LearnerRepository
from bot.storage.outbox import Outbox
from bot.storage.people import PersonRepository
from bot.storage.plan import PlanRepository
from bot.storage.reminders import FollowupRepository
from bot.storage.requests import AcceptedRequests
from bot.storage.review_load import ReviewLoadRepository
from bot.storage.send_rate import SharedSendRate

log = logging.getLogger(__name__)

MANIFEST = "deploy/slack-manifest.yaml"


OAUTH_NEEDS_HTTP = (
    "installing in several workspaces (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_STATE_SECRET) "
    "needs HTTP mode: run `microlearn serve --http` (Slack's install redirect needs a public URL)"
)


class StartupError(Exception):
    """The bot cannot start; the message says why and what to do (one line)."""


class ContentProblems(StartupError):
    """The lessons folder has problems; serving would send broken lessons."""

    def __init__(self, problems: list[str], folder: Path) -> None:
        count = len(problems)
        super().__init__(
            f"{count} problem{'s' if count != 1 else ''} in {folder}; fix them before serving "
            f"(`microlearn lessons check {folder}` lists them)"
        )
        self.problems = problems


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


@dataclass
class ContentCheck:
    catalog: Catalog
    problems: list[str]
    warnings: list[str] = field(default_factory=list)  # giveaway cues: reported, never fatal

    def summary(self) -> str:
        catalog = self.catalog
        return ", ".join(
            _count(number, noun)
            for number, noun in (
                (len(catalog.courses), "course"),
                (catalog.lesson_count, "lesson"),
                (catalog.question_count, "question"),
            )
        )


def check_content(folder: Path) -> ContentCheck:
    """Load and check a lessons folder, render every lesson as Slack would, and look for cues."""
    loaded = load_catalog(folder)
    problems = [str(problem) for problem in loaded.problems]
    for problem in render.check_catalog(loaded.catalog):
        where = problem.source or Source(folder, 1)
        problems.append(f"{where}: {problem.message}")
    warnings = [str(cue) for cue in find_cues(loaded.catalog)]
    return ContentCheck(loaded.catalog, problems, warnings)


# What follows an acknowledged answer (bot/slack/listeners/quiz.py). Mostly waiting on Slack:
# feedback goes to response_url, which answers in 100-300 ms from afar, so at 100 answers/s per
# process some 30 posts are in flight at once. With 8 threads and Slack at 150 ms, acks waited
# for feedback (p50 154 ms in bench/answers.py --feedback-latency 150); with 32, 1.7 ms.
SETTLE_THREADS = 32


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
    messenger = SlackMessenger(
        meter(client or slack_client(settings, retries=False), metrics.slack_call),
        tokens=installations.token if installations is not None else None,
    )
    catalog_service = CatalogService(catalog, ContentRepository(db))
    repository = DripRepository(db)
    learners = LearnerRepository(db)
    enrolments = EnrolmentRepository(db)
    outbox = Outbox(db)
    people = People(learners, messenger, admins=settings.admins)
    answers = AnswerRepository(db)
    reviews = ReviewService(
        answers=answers,
        learners=learners,
        outbox=outbox,
        load=ReviewLoadRepository(db),
        per_day=settings.reviews_per_day,
    )
    kick = Kick()
    composer = SlackComposer()
    reminders = ReminderService(
        repository=FollowupRepository(db),
        pauses=AutoPauseRepository(db),
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
        learners=learners,
        enrolments=enrolments,
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
        learners=learners,
        enrolments=enrolments,
        outbox=outbox,
        retention_days=settings.retention_days,
        kick=kick,
    )
    insights = InsightsRepository(db)
    digests = DigestService(
        insights=insights,
        learners=learners,
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
        learners=learners,
        enrolments=enrolments,
        plans=PlanRepository(db),
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
    gamify = GamifyService(
        repository=game,
        learners=learners,
        enrolments=enrolments,
        catalog=catalog_service,
        kick=kick,
    )
    leaderboards = LeaderboardService(
        repository=game,
        drips=repository,
        learners=learners,
        catalog=catalog_service,
        people=people,
        outbox=outbox,
        kick=kick,
    )
    skills = SkillService(
        repository=game,
        catalog=catalog_service,
        outbox=outbox,
        enrolled=lambda team, user: enrolled_courses(enrolments.enrolments(team, recipient=user)),
        kick=kick,
    )
    reports = ReportService(
        answers=answers,
        drips=repository,
        learners=learners,
        enrolments=enrolments,
        catalog=catalog_service,
        reviews=reviews,
        discussions=discussions,
        insights=insights,
        reminders=reminders,
    )
    return Services(
        catalog=catalog_service,
        people=people,
        drips=drips,
        delivery=delivery,
        quiz=QuizService(
            answers=answers,
            catalog=catalog_service,
            reviews=reviews,
            people=people,
            gamify=gamify,
            metrics=metrics,
        ),
        reports=reports,
        discussions=discussions,
        inbox=Inbox(outbox=outbox, learners=learners, kick=kick),
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
            learners=learners,
            people=people,
            messenger=messenger,
        ),
        digests=digests,
        dashboard=DashboardService(  # App Home's dashboard (issue 15 item 1)
            repository=DashboardRepository(db),
            drips=repository,
            learners=learners,
            enrolments=enrolments,
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
        ),
        metrics=metrics,
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
        counter_interval=counter_interval,
        # Run before the response (tests): everything settles before the request returns.
        settle_threads=0 if process_before_response else SETTLE_THREADS,
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


def deliver_due(settings: Settings, *, out: TextIO) -> None:
    """One pass of planning and sending, for operators who prefer cron to a resident tick."""
    content = check_content(settings.lessons_dir)
    if content.problems:
        raise ContentProblems(content.problems, settings.lessons_dir)
    check_slack(settings)
    db = open_database(settings)
    try:
        upgrade_database(db)
        services = build_services(settings, db, content.catalog)
        services.catalog.sync(now=utc_now())
        report = services.delivery.tick(utc_now())
    finally:
        db.dispose()
    print(
        f"planned {report.planned} lessons ({report.moved} missed ones moved to their "
        f"next slot); sent {report.drain.sent} deliveries ({report.drain.messages} messages), "
        f"{report.drain.retried} to retry, {report.drain.failed} failed",
        file=out,
    )


def export_answers(settings: Settings, *, course_id: str, team_id: str | None) -> tuple[int, bytes]:
    """`microlearn report <course> --csv FILE`: the same CSV the Slack report uploads."""
    if not settings.lessons_dir.is_dir():
        raise StartupError(
            f"the lessons folder {settings.lessons_dir} does not exist: set LESSONS_DIR to the "
            "folder of courses the report is about"
        )
    content = check_content(settings.lessons_dir)
    db = open_database(settings)
    try:
        upgrade_database(db)
        services = build_services(settings, db, content.catalog)
        teams = services.reports.teams()
        if team_id is None and len(teams) > 1:
            raise StartupError(
                f"this database holds several workspaces ({', '.join(teams)}): "
                "choose one with --team"
            )
        team = team_id or (teams[0] if teams else "")
        try:
            report, csv_bytes = services.reports.report(team_id=team, course_id=course_id)
        except Refused as refused:
            raise StartupError(str(refused).replace("`", "")) from None
    finally:
        db.dispose()
    return report.answers, csv_bytes


@contextmanager
def people_data(settings: Settings) -> Iterator[PrivacyService]:
    """`microlearn forget` and `export-person`: the people's-data use cases on DATABASE_URL."""
    db = open_database(settings)
    try:
        upgrade_database(db)
        yield PrivacyService(
            people=PersonRepository(db),
            learners=LearnerRepository(db),
            enrolments=EnrolmentRepository(db),
            outbox=Outbox(db),
        )
    finally:
        db.dispose()


def _reporting(settings: Settings, db: Database) -> Services:
    """Services over the lessons folder, for the reporting commands (no Slack call made)."""
    if not settings.lessons_dir.is_dir():
        raise StartupError(
            f"the lessons folder {settings.lessons_dir} does not exist: set LESSONS_DIR to the "
            "folder of courses the report is about"
        )
    content = check_content(settings.lessons_dir)
    upgrade_database(db)
    return build_services(settings, db, content.catalog)


def _one_team(services: Services, team_id: str | None) -> str:
    teams = services.reports.teams()
    if team_id is None and len(teams) > 1:
        raise StartupError(
            f"this database holds several workspaces ({', '.join(teams)}): choose one with --team"
        )
    return team_id or (teams[0] if teams else "")


def question_stats(settings: Settings, *, course_id: str, team_id: str | None) -> list[str]:
    """`microlearn lessons stats <course>`: the questions CSV's figures as a table, with flags."""
    db = open_database(settings)
    try:
        services = _reporting(settings, db)
        try:
            return services.lead_reports.question_stats(
                team_id=_one_team(services, team_id), course_id=course_id
            )
        except Refused as refused:
            raise StartupError(str(refused).replace("`", "")) from None
    finally:
        db.dispose()


def send_digests(
    settings: Settings, *, lead_id: str | None, team_id: str | None, out: TextIO
) -> int:
    """`microlearn digest`: queue today's digest for every lead (or one) and send what is due."""
    content = check_content(settings.lessons_dir)
    if content.problems:
        raise ContentProblems(content.problems, settings.lessons_dir)
    check_slack(settings)
    db = open_database(settings)
    try:
        upgrade_database(db)
        services = build_services(settings, db, content.catalog)
        now = utc_now()
        services.catalog.sync(now=now)
        if lead_id is not None and team_id is None:
            teams = {team for team, lead in services.digests.leads(now) if lead == lead_id}
            team_id = _one_team(services, None) if len(teams) != 1 else teams.pop()
        queued = services.digests.send_now(now=now, team_id=team_id, lead_id=lead_id)
        report = services.delivery.drain(now=now)
    finally:
        db.dispose()
    print(
        f"queued {queued} digests (a lead gets one a day at most); sent {report.sent} "
        f"deliveries, {report.retried} to retry, {report.failed} failed",
        file=out,
    )
    return queued


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


def missing_credentials(settings: Settings, *, http: bool) -> list[str]:
    # With OAuth the tokens come from each workspace's install, not from the environment.
    missing = [] if settings.slack_bot_token or settings.oauth else ["SLACK_BOT_TOKEN"]
    if http and not settings.slack_signing_secret:
        missing.append("SLACK_SIGNING_SECRET")
    if not http and not settings.socket_mode:
        missing.append("SLACK_APP_TOKEN")
    return missing


def credentials_guide(missing: list[str], *, http: bool) -> str:
    """One screen: what is missing and how to get it."""
    mode = "HTTP mode (`microlearn serve --http`)" if http else "Socket Mode (no public URL needed)"
    return f"""\
microlearn cannot start yet: it has no Slack credentials for {mode}.

Missing: {", ".join(missing)}

Get them in about five minutes:
  1. Open https://api.slack.com/apps → "Create New App" → "From a manifest", pick your workspace.
  2. Paste the contents of {MANIFEST} from this repository and create the app.
     (For HTTP mode, first set socket_mode_enabled: false and put your public URL + /slack/events
     in the three request URLs of the manifest.)
  3. "Install App" → "Install to Workspace" → copy the Bot User OAuth Token (xoxb-…)
     into SLACK_BOT_TOKEN.
  4. Socket Mode: "Basic Information" → "App-Level Tokens" → "Generate Token and Scopes", add the
     scope connections:write, and copy the token (xapp-…) into SLACK_APP_TOKEN.
     HTTP mode: "Basic Information" → "Signing Secret" → copy it into SLACK_SIGNING_SECRET.
  5. Put them in a .env file next to this README (start from .env.example: cp .env.example .env),
     then run `make run` again.

Every setting is described in .env.example and in the README's Configuration section."""


def check_slack(settings: Settings) -> str:
    """Call auth.test once before serving, so a bad token is one clear line, not a traceback."""
    if settings.oauth:
        return "the app of every workspace that installs it"
    quiet = logging.getLogger("microlearn.preflight")
    quiet.disabled = True  # the failure becomes one line below, not a log and a retry
    client = WebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url, logger=quiet, timeout=10
    )
    client.retry_handlers.clear()
    try:
        response = client.auth_test()
    except SlackApiError as error:
        reason = error.response.get("error", "unknown error")
        raise StartupError(
            f"Slack rejected SLACK_BOT_TOKEN ({reason}); copy the Bot User OAuth Token again from "
            'your app\'s "Install App" page'
        ) from error
    except OSError as error:
        raise StartupError(
            f"cannot reach Slack at SLACK_API_URL={settings.slack_api_url} ({error}); "
            "check the network or the URL"
        ) from error
    return f"{response.get('user', '?')} in {response.get('team', '?')}"


def serve(
    settings: Settings,
    *,
    http: bool,
    host: str,
    port: int,
    workers: int,
    out: TextIO,
    metrics_dir: Path | None = None,
    health_port: int | None = None,
) -> None:
    """Check the lessons, migrate, verify the token, then serve until SIGTERM/SIGINT.

    `metrics_dir`: where gunicorn's workers keep their samples (bot.metricsdir);
    `health_port`: in Socket Mode, serve `/healthz` and `/metrics` on this port.
    """
    if settings.oauth and not http:
        raise StartupError(OAUTH_NEEDS_HTTP)
    content = check_content(settings.lessons_dir)
    if content.problems:
        raise ContentProblems(content.problems, settings.lessons_dir)
    db = open_database(settings)
    try:
        before, after = upgrade_database(db)
        services = build_services(settings, db, content.catalog)
        services.catalog.sync(now=utc_now())
    finally:
        db.dispose()
    migrated = f"migrated {before or 'empty'} → {after}" if before != after else f"at {after}"
    identity = check_slack(settings)
    print(f"microlearn: database {_redact(settings.database_url)} {migrated}", file=out)
    print(
        f"microlearn: lessons from {settings.lessons_dir}: {content.summary()}"
        f"{_warnings_note(content, settings.lessons_dir)}",
        file=out,
    )
    if http:
        _serve_http(
            settings,
            content.catalog,
            host=host,
            port=port,
            workers=workers,
            identity=identity,
            out=out,
            metrics_dir=metrics_dir,
        )
    else:
        _serve_socket_mode(
            settings,
            content.catalog,
            identity=identity,
            out=out,
            probes=(host, health_port) if health_port else None,
            metrics_dir=metrics_dir,
        )


def _serve_http(
    settings: Settings,
    catalog: Catalog,
    *,
    host: str,
    port: int,
    workers: int,
    identity: str,
    out: TextIO,
    metrics_dir: Path | None,
) -> None:
    assert settings.slack_signing_secret is not None

    def start_worker() -> Worker:
        container = build(
            settings,
            catalog=catalog,
            token_verification_enabled=False,
            metrics=True,
            metrics_dir=metrics_dir,
        )
        container.start_ticking()
        wsgi = http_app(settings, container.db, container.bolt, metrics=container.metrics)
        return Worker(wsgi=wsgi, stop=container.close, screen=wsgi.refuse_head)

    print(
        f"microlearn: serving HTTP as {identity} on http://{host}:{port}/slack/events "
        f"(health: /healthz, metrics: /metrics, {workers} worker(s) × "
        f"{settings.web_threads} threads)",
        file=out,
        flush=True,
    )
    if settings.oauth:
        print(
            f"microlearn: install it in a workspace at <your public URL>{INSTALL_PATH} "
            f"(here: http://{host}:{port}{INSTALL_PATH})",
            file=out,
            flush=True,
        )
    run_http(
        start_worker,
        host=host,
        port=port,
        workers=workers,
        threads=settings.web_threads,
        log_level=settings.log_level,
        on_worker_exit=(
            partial(mark_process_dead, directory=metrics_dir) if metrics_dir is not None else None
        ),
    )


def _serve_socket_mode(
    settings: Settings,
    catalog: Catalog,
    *,
    identity: str,
    out: TextIO,
    probes: tuple[str, int] | None,
    metrics_dir: Path | None,
) -> None:
    assert settings.slack_app_token is not None
    container = build(
        settings, catalog=catalog, metrics=probes is not None, metrics_dir=metrics_dir
    )
    stop_probes: Callable[[], None] | None = None
    if probes is not None:
        host, port = probes
        page = Probes(health=health_check(container.db), metrics=metrics_page(container.metrics))
        try:
            stop_probes = serve_probes(page, host=host, port=port)
        except ProbesUnavailable as error:
            container.close()
            raise StartupError(
                f"cannot serve /healthz and /metrics on {host}:{port} ({error}); choose another "
                "port with MICROLEARN_HTTP_PORT or --health-port"
            ) from None
        print(
            f"microlearn: health and metrics on http://{host}:{port}/healthz and /metrics",
            file=out,
            flush=True,
        )

    def ready() -> None:
        # Only once Slack can reach us: nothing goes out from a bot that cannot hear answers.
        container.start_ticking()
        print(f"microlearn: connected to Slack in Socket Mode as {identity}", file=out, flush=True)

    try:
        run_socket_mode(
            container.bolt,
            app_token=settings.slack_app_token,
            concurrency=settings.listener_threads,
            stop=container.close,
            on_ready=ready,
        )
    except SocketModeFailed as error:
        if error.refused:
            raise StartupError(
                f"Slack refused SLACK_APP_TOKEN ({error.reason}); generate an app-level token "
                'with the connections:write scope under "Basic Information" → "App-Level '
                'Tokens" and copy it again'
            ) from None
        raise StartupError(
            f"cannot open the Socket Mode connection for SLACK_APP_TOKEN ({error.reason}); "
            "check the network, or use `microlearn serve --http`"
        ) from None
    finally:
        if stop_probes is not None:
            stop_probes()
    print("microlearn: stopped", file=out, flush=True)


def _warnings_note(content: ContentCheck, folder: Path) -> str:
    count = len(content.warnings)
    if not count:
        return ""
    them = "it" if count == 1 else "them"
    return f", {_count(count, 'warning')} (`microlearn lessons check {folder}` lists {them})"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _redact(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        return f"{scheme}{sep}{user}@{host}"
    return url
