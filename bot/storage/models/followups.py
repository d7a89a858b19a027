"""Follow-ups of DM drip lessons (reminders) and auto-pauses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.models.base import SLACK_ID, TEAM_ID, instant


class LessonFollowup(SQLModel, table=True):
    """A DM drip lesson waiting for its answer: when to remind, how often it was, how it ended."""

    __tablename__ = "lesson_followup"
    __table_args__ = (
        UniqueConstraint("team_id", "delivery_id"),
        Index("ix_lesson_followup_outcome_next_at", "outcome", "next_at"),
        Index("ix_lesson_followup_enrolment_id", "enrolment_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    delivery_id: int = Field(foreign_key="delivery.id")
    enrolment_id: int = Field(foreign_key="enrolment.id")
    user_id: str = Field(max_length=SLACK_ID)
    lesson_id: int = Field(foreign_key="lesson.id")
    delivered_at: datetime = instant()
    reminders_sent: int = 0
    next_at: datetime | None = instant(nullable=True)  # next reminder, or when it counts missed
    # open | answered | missed | dropped (paused, left…) | forgiven (missed before a resume)
    outcome: str = Field(default="open", max_length=16)
    settled_at: datetime | None = instant(nullable=True)


class AutoPause(SQLModel, table=True):
    """An enrolment that paused itself after lessons in a row went unanswered."""

    __tablename__ = "auto_pause"
    __table_args__ = (UniqueConstraint("team_id", "enrolment_id", "paused_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    enrolment_id: int = Field(foreign_key="enrolment.id", index=True)
    drip_id: int = Field(foreign_key="drip.id")
    user_id: str = Field(max_length=SLACK_ID)
    paused_at: datetime = instant()
    resumed_at: datetime | None = instant(nullable=True)
