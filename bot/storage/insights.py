"""Reads behind leads' views: which lessons a lead's drips and sends delivered, to whom, and
what those learners did since (answers, completions, paused enrolments, discussion replies).

Rows are returned plain; deciding whose learners a lead sees is the services' job.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import col

from bot.storage.db import Database
from bot.storage.fastlane import DRIP_OWNERS
from bot.storage.models import (
    Answer,
    Completion,
    Course,
    Delivery,
    DiscussionThread,
    Drip,
    Enrolment,
    Learner,
    Lesson,
    Question,
    ThreadReply,
)
from bot.storage.rows import record


@dataclass(frozen=True)
class SentLesson:
    """A lesson delivery, and who set it off: a drip's creator, or whoever sent it now."""

    id: int
    course: str
    lesson: str
    recipient: str
    recipient_kind: str  # dm | channel
    drip_id: int | None
    owner: str | None  # the drip's creator, or the lead who sent it now
    status: str
    sent_at: datetime | None
    created_at: datetime


@dataclass(frozen=True)
class AnswerFact:
    user_id: str
    course: str
    lesson: str
    position: int
    kind: str
    choice: str
    correct: bool | None
    attempt: int
    delivery_id: int | None
    answered_at: datetime


@dataclass(frozen=True)
class CompletionFact:
    user_id: str
    course: str
    lesson: str
    delivery_id: int | None
    completed_at: datetime


@dataclass(frozen=True)
class ReplyFact:
    user_id: str
    course: str
    lesson: str
    drip_id: int | None
    thread_key: str
    text: str
    reactions: int
    replied_at: datetime


class InsightsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def sent_lessons(
        self, team_id: str, *, course: str | None = None, owner: str | None = None
    ) -> list[SentLesson]:
        """Lesson deliveries of a workspace (of one course; of drips `owner` created or sends
        they made, when given), oldest first."""
        query: Any = (
            select(
                col(Delivery.id),
                col(Course.slug).label("course"),
                col(Lesson.slug).label("lesson"),
                col(Delivery.recipient),
                col(Delivery.recipient_kind),
                col(Delivery.drip_id),
                col(Drip.created_by),
                col(Delivery.payload),
                col(Delivery.status),
                col(Delivery.sent_at),
                col(Delivery.created_at),
            )
            .join(Lesson, col(Lesson.id) == col(Delivery.lesson_id))
            .join(Course, col(Course.id) == col(Lesson.course_id))
            .join(Drip, col(Drip.id) == col(Delivery.drip_id), isouter=True)
            .where(col(Delivery.team_id) == team_id, col(Delivery.kind) == "lesson")
            .order_by(col(Delivery.id))
        )
        if course is not None:
            query = query.where(col(Course.slug) == course)
        if owner is not None:
            # Sends carry their lead in the payload (JSON, read below), drips in their row.
            query = query.where(or_(col(Drip.created_by) == owner, col(Delivery.drip_id).is_(None)))
        with self._db.read() as session:
            rows = session.execute(query).all()
        found = []
        for row in rows:
            values = dict(row._mapping)
            creator, payload = values.pop("created_by"), values.pop("payload")
            by = creator if values["drip_id"] is not None else (payload or {}).get("sent_by")
            if owner is not None and by != owner:
                continue
            found.append(record(SentLesson, values, owner=str(by) if by else None))
        return found

    def answers(
        self,
        team_id: str,
        *,
        courses: Iterable[str],
        since: datetime | None = None,
        users: Iterable[str] | None = None,
    ) -> list[AnswerFact]:
        """Answers to the questions of these courses, oldest first."""
        wanted = list(courses)
        if not wanted:
            return []
        query: Any = (
            select(
                col(Answer.user_id),
                col(Course.slug).label("course"),
                col(Lesson.slug).label("lesson"),
                col(Question.position),
                col(Question.kind),
                col(Answer.choice),
                col(Answer.correct),
                col(Answer.attempt),
                col(Answer.delivery_id),
                col(Answer.answered_at),
            )
            .join(Question, col(Question.id) == col(Answer.question_id))
            .join(Lesson, col(Lesson.id) == col(Question.lesson_id))
            .join(Course, col(Course.id) == col(Lesson.course_id))
            .where(col(Answer.team_id) == team_id, col(Course.slug).in_(wanted))
            .order_by(col(Answer.answered_at), col(Answer.id))
        )
        if since is not None:
            query = query.where(col(Answer.answered_at) >= since)
        if users is not None:
            query = query.where(col(Answer.user_id).in_(list(users)))
        with self._db.read() as session:
            return [record(AnswerFact, row._mapping) for row in session.execute(query).all()]

    def completions(
        self, team_id: str, *, courses: Iterable[str], since: datetime | None = None
    ) -> list[CompletionFact]:
        wanted = list(courses)
        if not wanted:
            return []
        query: Any = (
            select(
                col(Completion.user_id),
                col(Course.slug).label("course"),
                col(Lesson.slug).label("lesson"),
                col(Completion.delivery_id),
                col(Completion.completed_at),
            )
            .join(Lesson, col(Lesson.id) == col(Completion.lesson_id))
            .join(Course, col(Course.id) == col(Lesson.course_id))
            .where(col(Completion.team_id) == team_id, col(Course.slug).in_(wanted))
            .order_by(col(Completion.completed_at), col(Completion.id))
        )
        if since is not None:
            query = query.where(col(Completion.completed_at) >= since)
        with self._db.read() as session:
            return [record(CompletionFact, row._mapping) for row in session.execute(query).all()]

    def replies(
        self, team_id: str, *, courses: Iterable[str], since: datetime | None = None
    ) -> list[ReplyFact]:
        """Current replies in the discussion threads of these courses' lessons, oldest first."""
        wanted = list(courses)
        if not wanted:
            return []
        query: Any = (
            select(
                col(ThreadReply.user_id),
                col(Course.slug).label("course"),
                col(Lesson.slug).label("lesson"),
                col(DiscussionThread.drip_id),
                col(DiscussionThread.key).label("thread_key"),
                col(ThreadReply.text),
                col(ThreadReply.reaction_count).label("reactions"),
                col(ThreadReply.replied_at),
            )
            .join(DiscussionThread, col(DiscussionThread.id) == col(ThreadReply.thread_id))
            .join(Lesson, col(Lesson.id) == col(DiscussionThread.lesson_id))
            .join(Course, col(Course.id) == col(Lesson.course_id))
            .where(
                col(ThreadReply.team_id) == team_id,
                col(Course.slug).in_(wanted),
                col(ThreadReply.deleted).is_(False),
            )
            .order_by(col(ThreadReply.replied_at), col(ThreadReply.id))
        )
        if since is not None:
            query = query.where(col(ThreadReply.replied_at) >= since)
        with self._db.read() as session:
            return [record(ReplyFact, row._mapping) for row in session.execute(query).all()]

    def paused(self, team_id: str, *, owner: str) -> list[tuple[str, str]]:
        """(learner, course) of paused DM enrolments in drips `owner` created and runs (a drip
        the lead paused pauses everyone in it: that is not news to them)."""
        with self._db.read() as session:
            rows = session.execute(
                select(col(Enrolment.recipient), col(Course.slug))
                .join(Drip, col(Drip.id) == col(Enrolment.drip_id))
                .join(Course, col(Course.id) == col(Drip.course_id))
                .where(
                    col(Enrolment.team_id) == team_id,
                    col(Drip.created_by) == owner,
                    col(Drip.status) == "active",
                    col(Enrolment.status) == "paused",
                    col(Enrolment.recipient_kind) == "dm",
                )
                .order_by(col(Enrolment.id))
            ).all()
        return [(recipient, course) for recipient, course in rows]

    def names(self, team_id: str, users: Iterable[str]) -> dict[str, str]:
        """Display names of learners known to the bot (empty names left out)."""
        wanted = list(users)
        if not wanted:
            return {}
        with self._db.read() as session:
            rows = session.execute(
                select(col(Learner.user_id), col(Learner.name)).where(
                    col(Learner.team_id) == team_id, col(Learner.user_id).in_(wanted)
                )
            ).all()
        return {user: name for user, name in rows if name}

    def drip_owners(self, *, finished_since: datetime) -> list[tuple[str, str, datetime]]:
        """(team, lead, since when) of everyone running a drip for others (not a learner's own
        join): active, paused, or finished since `finished_since`. Every tick reads it (the
        digest step): a fast-lane read."""
        with self._db.direct() as connection:
            rows = connection.all(DRIP_OWNERS, {"finished_since": finished_since})
        first: dict[tuple[str, str], datetime] = {}
        for row in rows:
            team, creator, created = row["team_id"], row["created_by"], row["created_at"]
            if row["kind"] == "user" and row["ref"] == creator:
                continue  # a learner's own `/learn join`, or a lead's target of themselves
            key = (team, creator)
            first[key] = min(created, first.get(key, created))
        return sorted((team, lead, since) for (team, lead), since in first.items())
