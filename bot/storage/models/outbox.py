"""The outbox: plan slots, deliveries and the shared send rate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.models.base import SLACK_ID, TEAM_ID, TS, instant


class PlanSlot(SQLModel, table=True):
    """A group of due enrolments and what the plan step decided for it, until it is applied.

    Enrolments that share a drip, a schedule, a due instant and a lesson share one outcome; the
    plan step records it here in one row per group, and the per-learner deliveries are written
    from it in bounded chunks as the drain needs them.
    """

    __tablename__ = "plan_slot"
    __table_args__ = (
        UniqueConstraint(
            "team_id",
            "drip_id",
            "tz",
            "days",
            "at_time",
            "next_due_at",
            "next_position",
            name="uq_plan_slot_group",  # the generated name is longer than PostgreSQL keeps
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    drip_id: int = Field(foreign_key="drip.id")
    tz: str = Field(max_length=64)
    days: str = Field(max_length=40)
    at_time: str = Field(max_length=5)
    next_due_at: datetime = instant()
    next_position: int
    action: str = Field(max_length=16)  # plan | plan_last | move | finish
    lesson_id: int | None = Field(default=None, foreign_key="lesson.id")
    new_position: int
    new_due_at: datetime | None = instant(nullable=True)
    finish: bool = False
    planned_at: datetime = instant()


class Delivery(SQLModel, table=True):
    """The outbox: one row per message set to send, claimed with a lease and a claim token."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("team_id", "dedupe_key"),
        Index("ix_delivery_status_due_at", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    dedupe_key: str = Field(max_length=200)
    kind: str = Field(max_length=16)  # lesson | review | notice
    enrolment_id: int | None = Field(default=None, foreign_key="enrolment.id")
    recipient: str = Field(max_length=SLACK_ID)
    recipient_kind: str = Field(max_length=16)
    lesson_id: int | None = Field(default=None, foreign_key="lesson.id")
    question_id: int | None = Field(default=None, foreign_key="question.id")
    status: str = Field(default="pending", max_length=16)  # pending | sending | sent | failed
    due_at: datetime = instant()
    tries: int = 0
    lease_until: datetime | None = instant(nullable=True)
    claim_token: str | None = Field(default=None, max_length=64)
    channel_id: str | None = Field(default=None, max_length=SLACK_ID)
    message_ts: str | None = Field(default=None, max_length=TS)
    error: str | None = Field(default=None, max_length=500)
    created_at: datetime = instant()
    sent_at: datetime | None = instant(nullable=True)
    drip_id: int | None = Field(default=None, foreign_key="drip.id")
    parts_sent: int = 0  # messages of this delivery already posted (a lesson is several)
    payload: dict[str, Any] | None = Field(default=None, sa_type=JSON)  # notices: what to say


class SendBucket(SQLModel, table=True):
    """The token bucket that paces chat.postMessage for a whole workspace, across processes.

    Times are seconds since the epoch on the senders' clocks. `tokens` may be negative: slots
    handed out ahead of time. `updated` moves to the end of a 429's pause, so nothing is earned
    during it.
    """

    __tablename__ = "send_bucket"

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID, unique=True)
    tokens: float
    updated: float
    paused_until: float = 0.0
