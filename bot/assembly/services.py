"""`build_services`: every use case over one database, from the groups in this package."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient

from bot.assembly.core import Core, build_core
from bot.assembly.delivery import delivery_service
from bot.bolt_app import slack_messenger
from bot.config import Settings
from bot.domain.lesson import Catalog
from bot.scheduler import utc_now
from bot.services import Services
from bot.services.after_answer import AfterAnswer
from bot.services.dashboard import DashboardService
from bot.services.digests import DigestService
from bot.services.drips import Drips
from bot.services.gamify import GamifyService
from bot.services.inbox import Inbox
from bot.services.installations import Installations
from bot.services.lead_reports import LeadReports
from bot.services.leaderboards import LeaderboardService
from bot.services.metrics import NO_METRICS, Metrics
from bot.services.privacy import PrivacyService
from bot.services.quiz import QuizService
from bot.services.replays import ReplayGuard
from bot.services.reports import ReportService
from bot.services.scheduling import Scheduling
from bot.services.self_service import SelfService
from bot.services.skills import SkillService, enrolled_courses
from bot.slack.app_home import AppHome
from bot.storage.answer_reports import AnswerReports
from bot.storage.dashboard import DashboardRepository
from bot.storage.db import Database
from bot.storage.gamify import GamifyRepository
from bot.storage.installations import InstallationRepository
from bot.storage.people import PersonRepository
from bot.storage.requests import AcceptedRequests


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
    core = build_core(settings, db, catalog, messenger, clock=clock, metrics=metrics)
    privacy = _privacy(core)
    digests = _digests(core)
    delivery = delivery_service(core, privacy=privacy, digests=digests, sleep=sleep)
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
        after_answer=_after_answer(core, learning),
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
        lead_reports=_lead_reports(core, reports),
        digests=digests,
        dashboard=learning.dashboard,
        metrics=metrics,
    )


def _privacy(core: Core) -> PrivacyService:
    return PrivacyService(
        people=PersonRepository(core.db),
        learners=core.learners,
        enrolments=core.enrolments,
        notices=core.notices,
        retention_days=core.settings.retention_days,
        kick=core.kick,
    )


def _after_answer(core: Core, learning: _Learning) -> AfterAnswer:
    homes = AppHome(
        dashboard=learning.dashboard, people=core.people, messenger=core.messenger, clock=core.clock
    )
    return AfterAnswer(quiz=learning.quiz, discussions=core.discussions, homes=homes)


def _lead_reports(core: Core, reports: ReportService) -> LeadReports:
    return LeadReports(
        reports=reports,
        insights=core.insights,
        answers=AnswerReports(core.db),
        roles=core.roles,
        targets=core.targets,
        learners=core.learners,
        people=core.people,
        messenger=core.messenger,
    )


def _scheduling(core: Core) -> Scheduling:
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


def _self_service(core: Core) -> SelfService:
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


def _digests(core: Core) -> DigestService:
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


def _reports(core: Core) -> ReportService:
    return ReportService(
        answers=AnswerReports(core.db),
        drips=core.drips,
        learners=core.learners,
        enrolments=core.enrolments,
        catalog=core.catalog,
        reviews=core.reviews,
        discussions=core.discussions,
        insights=core.insights,
        reminders=core.reminders,
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


def _learning(core: Core) -> _Learning:
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
