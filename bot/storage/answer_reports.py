"""The reads behind progress and reports over stored answers and completions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlmodel import col

from bot.storage.db import Database
from bot.storage.models import Answer, Completion, Course, Delivery, Learner, Lesson, Question


@dataclass(frozen=True)
class AnswerRow:
    """One stored answer with who, where and what, for reports."""

    user_id: str
    learner_name: str
    course: str
    lesson: str
    position: int
    kind: str
    choice: str
    correct: bool | None
    attempt: int
    answered_at: datetime


class AnswerReports:
    """A learner's progress, and a course's answers and reach, for reports."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def progress(self, team_id: str, user_id: str) -> tuple[int, int, int, list[datetime]]:
        """(lessons done, graded answers, right answers, every activity instant)."""
        with self._db.read() as session:
            done = (
                session.execute(
                    select(col(Completion.completed_at)).where(
                        col(Completion.team_id) == team_id, col(Completion.user_id) == user_id
                    )
                )
                .scalars()
                .all()
            )
            answers = session.execute(
                select(col(Answer.correct), col(Answer.answered_at)).where(
                    col(Answer.team_id) == team_id, col(Answer.user_id) == user_id
                )
            ).all()
        graded = [correct for correct, _ in answers if correct is not None]
        activity = list(done) + [at for _, at in answers]
        return len(done), len(graded), sum(1 for c in graded if c), activity

    def teams(self) -> list[str]:
        """Workspaces that have answers stored."""
        with self._db.read() as session:
            return list(
                session.execute(
                    select(col(Answer.team_id)).distinct().order_by(col(Answer.team_id))
                )
                .scalars()
                .all()
            )

    def answer_rows(self, team_id: str, course: str) -> list[AnswerRow]:
        """Every stored answer to the questions of a course, oldest first."""
        with self._db.read() as session:
            rows = session.execute(
                select(
                    Answer,
                    col(Learner.name),
                    col(Course.slug),
                    col(Lesson.slug),
                    col(Question.position),
                    col(Question.kind),
                )
                .join(Question, col(Question.id) == col(Answer.question_id))
                .join(Lesson, col(Lesson.id) == col(Question.lesson_id))
                .join(Course, col(Course.id) == col(Lesson.course_id))
                .join(
                    Learner,
                    and_(
                        col(Learner.team_id) == col(Answer.team_id),
                        col(Learner.user_id) == col(Answer.user_id),
                    ),
                    isouter=True,
                )
                .where(col(Answer.team_id) == team_id, col(Course.slug) == course)
                .order_by(col(Answer.answered_at), col(Answer.id))
            ).all()
        return [
            AnswerRow(
                user_id=answer.user_id,
                learner_name=name or "",
                course=course_slug,
                lesson=lesson,
                position=position,
                kind=kind,
                choice=answer.choice,
                correct=answer.correct,
                attempt=answer.attempt,
                answered_at=answer.answered_at,
            )
            for answer, name, course_slug, lesson, position, kind in rows
        ]

    def lesson_reach(self, team_id: str, course: str) -> dict[str, tuple[int, int]]:
        """Per lesson: (people it was sent to by DM, people who completed it)."""
        with self._db.read() as session:
            sent = session.execute(
                select(col(Lesson.slug), func.count(func.distinct(Delivery.recipient)))
                .join(Delivery, col(Delivery.lesson_id) == col(Lesson.id))
                .join(Course, col(Course.id) == col(Lesson.course_id))
                .where(
                    col(Delivery.team_id) == team_id,
                    col(Course.slug) == course,
                    col(Delivery.kind) == "lesson",
                    col(Delivery.status) == "sent",
                    col(Delivery.recipient_kind) == "dm",
                )
                .group_by(col(Lesson.slug))
            ).all()
            done = session.execute(
                select(col(Lesson.slug), func.count())
                .join(Completion, col(Completion.lesson_id) == col(Lesson.id))
                .join(Course, col(Course.id) == col(Lesson.course_id))
                .where(col(Completion.team_id) == team_id, col(Course.slug) == course)
                .group_by(col(Lesson.slug))
            ).all()
        reach: dict[str, tuple[int, int]] = {slug: (count, 0) for slug, count in sent}
        for slug, count in done:
            reach[slug] = (reach.get(slug, (0, 0))[0], count)
        return reach

    def channel_lessons_sent(self, team_id: str, course: str) -> dict[str, int]:
        """Per lesson: channels it was posted in."""
        with self._db.read() as session:
            rows = session.execute(
                select(col(Lesson.slug), func.count(func.distinct(Delivery.recipient)))
                .join(Delivery, col(Delivery.lesson_id) == col(Lesson.id))
                .join(Course, col(Course.id) == col(Lesson.course_id))
                .where(
                    col(Delivery.team_id) == team_id,
                    col(Course.slug) == course,
                    col(Delivery.status) == "sent",
                    or_(col(Delivery.recipient_kind) == "channel"),
                )
                .group_by(col(Lesson.slug))
            ).all()
        return {slug: count for slug, count in rows}
