"""What App Home's dashboard reads in bulk: per drip, its learners' progress (a lead's view)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlmodel import Session, col

from bot.storage.db import Database
from bot.storage.models import Answer, Completion, Drip, Enrolment, Lesson, Question


@dataclass(frozen=True)
class DripProgress:
    """A drip's DM learners: how many, how far, how well on the first try."""

    learners: int
    waiting: int  # enrolments not started yet (or waiting on the learner)
    paused: int  # enrolments paused (the drip's pause or the learner's own)
    lessons_done: int  # completions of the drip's lessons by its learners
    first_tries: int  # graded first answers to the drip's questions by its learners
    first_tries_right: int


class DashboardRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def drip_progress(self, team_id: str, drip_ids: Sequence[int]) -> dict[int, DripProgress]:
        """Progress per drip, in three grouped queries however many drips there are."""
        ids = list(drip_ids)
        if not ids:
            return {}
        dm = and_(
            col(Enrolment.team_id) == team_id,
            col(Enrolment.recipient_kind) == "dm",
            col(Enrolment.drip_id).in_(ids),
        )
        with self._db.read() as session:
            counts = _counts(session, dm)
            done = _lessons_done(session, dm)
            tries = _first_tries(session, dm)
        result = {}
        for drip_id in ids:
            total, waiting, paused = counts.get(drip_id, (0, 0, 0))
            answered, right = tries.get(drip_id, (0, 0))
            result[drip_id] = DripProgress(
                learners=total,
                waiting=waiting,
                paused=paused,
                lessons_done=int(done.get(drip_id, 0) or 0),
                first_tries=answered,
                first_tries_right=right,
            )
        return result


def _counts(session: Session, dm: Any) -> dict[int, tuple[int, int, int]]:
    """Per drip: DM learners, those waiting and those paused."""
    return {
        drip_id: (int(total or 0), int(waiting or 0), int(paused or 0))
        for drip_id, total, waiting, paused in session.execute(
            select(
                col(Enrolment.drip_id),
                func.count(),
                func.sum(case((col(Enrolment.status) == "waiting", 1), else_=0)),
                func.sum(case((col(Enrolment.status) == "paused", 1), else_=0)),
            )
            .where(dm)
            .group_by(col(Enrolment.drip_id))
        ).all()
    }


def _lessons_done(session: Session, dm: Any) -> dict[int, int]:
    """Per drip: completions of its course's lessons by its DM learners."""
    return dict(
        session.execute(
            select(col(Enrolment.drip_id), func.count(col(Completion.id)))
            .join(Drip, col(Drip.id) == col(Enrolment.drip_id))
            .join(
                Completion,
                and_(
                    col(Completion.team_id) == col(Enrolment.team_id),
                    col(Completion.user_id) == col(Enrolment.recipient),
                ),
            )
            .join(
                Lesson,
                and_(
                    col(Lesson.id) == col(Completion.lesson_id),
                    col(Lesson.course_id) == col(Drip.course_id),
                ),
            )
            .where(dm)
            .group_by(col(Enrolment.drip_id))
        ).all()
    )


def _first_tries(session: Session, dm: Any) -> dict[int, tuple[int, int]]:
    """Per drip: graded first answers to its course's questions, and how many were right."""
    return {
        drip_id: (int(total or 0), int(right or 0))
        for drip_id, total, right in session.execute(
            select(
                col(Enrolment.drip_id),
                func.count(col(Answer.id)),
                func.sum(case((col(Answer.correct).is_(True), 1), else_=0)),
            )
            .join(Drip, col(Drip.id) == col(Enrolment.drip_id))
            .join(
                Answer,
                and_(
                    col(Answer.team_id) == col(Enrolment.team_id),
                    col(Answer.user_id) == col(Enrolment.recipient),
                    col(Answer.attempt) == 1,
                    col(Answer.correct).is_not(None),
                ),
            )
            .join(Question, col(Question.id) == col(Answer.question_id))
            .join(
                Lesson,
                and_(
                    col(Lesson.id) == col(Question.lesson_id),
                    col(Lesson.course_id) == col(Drip.course_id),
                ),
            )
            .where(dm)
            .group_by(col(Enrolment.drip_id))
        ).all()
    }
