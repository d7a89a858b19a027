"""Use cases. They talk to Slack only through the ports they define, never through Slack's SDK."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.services.catalog import CatalogService
from bot.services.delivery import DeliveryService
from bot.services.discussions import DiscussionService
from bot.services.drips import DripService
from bot.services.inbox import Inbox
from bot.services.people import People
from bot.services.privacy import PrivacyService
from bot.services.quiz import QuizService
from bot.services.reminders import ReminderService
from bot.services.reports import ReportService


@dataclass(frozen=True)
class Services:
    """The use cases the Slack adapter and the scheduler call; built in bot.app."""

    catalog: CatalogService
    people: People
    drips: DripService
    delivery: DeliveryService
    quiz: QuizService
    reports: ReportService
    discussions: DiscussionService
    inbox: Inbox
    privacy: PrivacyService
    clock: Callable[[], datetime]
    reminders: ReminderService
