"""Use cases. They talk to Slack only through the ports they define, never through Slack's SDK."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.services.metrics import NO_METRICS, Metrics

if TYPE_CHECKING:  # only names here: importing bot.services.x does not import every service
    from bot.services.after_answer import AfterAnswer
    from bot.services.catalog import CatalogService
    from bot.services.dashboard import DashboardService
    from bot.services.delivery import DeliveryService
    from bot.services.digests import DigestService
    from bot.services.discussions import DiscussionService
    from bot.services.drips import Drips
    from bot.services.gamify import GamifyService
    from bot.services.inbox import Inbox
    from bot.services.installations import Installations
    from bot.services.lead_reports import LeadReports
    from bot.services.leaderboards import LeaderboardService
    from bot.services.people import People
    from bot.services.privacy import PrivacyService
    from bot.services.quiz import QuizService
    from bot.services.reminders import ReminderService
    from bot.services.reports import ReportService
    from bot.services.roles import Roles
    from bot.services.scheduling import Scheduling
    from bot.services.self_service import SelfService
    from bot.services.skills import SkillService
    from bot.services.targets import Targets


@dataclass(frozen=True)
class Services:
    """The use cases the Slack adapter and the scheduler call; built in bot.app."""

    catalog: CatalogService
    people: People
    # Drips: who may, who is meant, scheduling, a lead's drips, a learner's own lessons.
    roles: Roles
    targets: Targets
    scheduling: Scheduling
    drips: Drips
    self_service: SelfService
    delivery: DeliveryService
    quiz: QuizService
    after_answer: AfterAnswer  # what follows an acknowledged answer or Done
    reports: ReportService
    discussions: DiscussionService
    inbox: Inbox
    privacy: PrivacyService
    # Points, badges, leaderboards, mastery and recommendations (issue 15 items 4-6).
    gamify: GamifyService
    leaderboards: LeaderboardService
    skills: SkillService
    # Leads' scoped reports and weekly digests (issue 16).
    lead_reports: LeadReports
    digests: DigestService
    # App Home's dashboard (issue 15 item 1).
    dashboard: DashboardService
    clock: Callable[[], datetime]
    reminders: ReminderService
    installations: Installations | None = None  # OAuth: many workspaces, tokens stored
    metrics: Metrics = field(default=NO_METRICS)  # issue 18: what operators scrape
