"""Answers, completions, review cards and review quotas."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.models.base import SLACK_ID, TEAM_ID, TS, instant


class Answer(SQLModel, table=True):
    __tablename__ = "answer"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "question_id", "attempt"),
        # A poll's results and a channel question's answer count, without reading every answer.
        Index("ix_answer_question_id_attempt", "question_id", "attempt"),
        Index("ix_answer_channel_id_message_ts", "channel_id", "message_ts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    user_id: str = Field(max_length=SLACK_ID)
    question_id: int = Field(foreign_key="question.id")
    attempt: int = 1
    delivery_id: int | None = Field(default=None, foreign_key="delivery.id")
    choice: str = Field(max_length=3000)
    correct: bool | None = None
    channel_id: str | None = Field(default=None, max_length=SLACK_ID)
    message_ts: str | None = Field(default=None, max_length=TS)
    answered_at: datetime = instant()


class Completion(SQLModel, table=True):
    """A learner finished a lesson: pressed Done, or answered its last question."""

    __tablename__ = "completion"
    __table_args__ = (UniqueConstraint("team_id", "user_id", "lesson_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    user_id: str = Field(max_length=SLACK_ID)
    lesson_id: int = Field(foreign_key="lesson.id")
    delivery_id: int | None = Field(default=None, foreign_key="delivery.id")
    completed_at: datetime = instant()


class ReviewCard(SQLModel, table=True):
    """Spaced repetition of a question a learner missed (an FSRS card)."""

    __tablename__ = "review_card"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id", "question_id"),
        Index("ix_review_card_status_due_at", "status", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    user_id: str = Field(max_length=SLACK_ID)
    question_id: int = Field(foreign_key="question.id")
    card: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    due_at: datetime = instant()
    reviews: int = 0  # review rounds sent so far (the answer's attempt is this + 1)
    status: str = Field(default="active", max_length=16)  # active | sent | mastered
    updated_at: datetime = instant()


class ReviewQuota(SQLModel, table=True):
    """Review questions a learner got on their current local day, and when more may come."""

    __tablename__ = "review_quota"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=TEAM_ID)
    user_id: str = Field(max_length=SLACK_ID)
    day: date
    sent: int = 0
    resume_at: datetime | None = instant(nullable=True)  # the day's cap is reached until then


# `microlearn forget` deletes a person's deliveries; the database then checks, for each one, that
# no answer or completion still points at it. These let it look instead of reading every row.
Index("ix_answer_delivery_id", Answer.__table__.c.delivery_id)  # type: ignore[attr-defined]
Index("ix_completion_delivery_id", Completion.__table__.c.delivery_id)  # type: ignore[attr-defined]
