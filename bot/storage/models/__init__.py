"""The tables, one module per noun; importing this package registers every one in `metadata`.

Every row owned by a Slack workspace carries `team_id`, and its unique keys include it.

Courses, lessons and questions are synced from the deployment's lessons folder and shared by every
workspace the deployment serves, so they carry no team id.
"""

from __future__ import annotations

from sqlmodel import SQLModel

from bot.storage.models.answers import Answer, Completion, ReviewCard, ReviewQuota
from bot.storage.models.base import SLACK_ID, TEAM_ID, TS
from bot.storage.models.content import Course, Lesson, Question
from bot.storage.models.discussions import DiscussionThread, ThreadReply
from bot.storage.models.drips import Drip, DripTarget, Enrolment
from bot.storage.models.followups import AutoPause, LessonFollowup
from bot.storage.models.gamify import Badge, PlayerSetting, PointEntry
from bot.storage.models.installations import Installation
from bot.storage.models.lookups import LookupLease
from bot.storage.models.outbox import Delivery, PlanSlot, SendBucket
from bot.storage.models.people import Lead, Learner
from bot.storage.models.requests import AcceptedRequest, ProcessedEvent

metadata = SQLModel.metadata

__all__ = [
    "SLACK_ID",
    "TEAM_ID",
    "TS",
    "AcceptedRequest",
    "Answer",
    "AutoPause",
    "Badge",
    "Completion",
    "Course",
    "Delivery",
    "DiscussionThread",
    "Drip",
    "DripTarget",
    "Enrolment",
    "Installation",
    "Lead",
    "Learner",
    "LessonFollowup",
    "Lesson",
    "LookupLease",
    "PlanSlot",
    "PlayerSetting",
    "PointEntry",
    "ProcessedEvent",
    "Question",
    "ReviewCard",
    "ReviewQuota",
    "SendBucket",
    "ThreadReply",
    "metadata",
]
