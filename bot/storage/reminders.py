"""Follow-ups of DM drip lessons: reminders while unanswered (auto-pauses: auto_pauses.py).

Every change of a follow-up is a conditional update on the state it was read in (outcome, count,
due instant), made in the same transaction as the notice it queues: two processes reading the
same due follow-up queue its reminder once, and the notice's dedupe key is the last guard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, exists, func, or_, select, update
from sqlmodel import Session, col

from bot.storage.db import Database, insert_for, insert_for_dialect
from bot.storage.fastlane import DRIP_LESSON_SENT, FOLLOWUPS_DUE
from bot.storage.models import (
    Answer,
    AutoPause,
    Completion,
    Course,
    Delivery,
    Enrolment,
    Learner,
    Lesson,
    LessonFollowup,
    Question,
)
from bot.storage.models.base import table_of
from bot.storage.rows import record

OPEN = "open"


@dataclass(frozen=True)
class DueFollowup:
    """A follow-up whose next step fell due, with what deciding it needs."""

    id: int
    team_id: str
    delivery_id: int
    enrolment_id: int
    drip_id: int
    user_id: str
    delivered_at: datetime
    reminders_sent: int
    next_at: datetime
    answered: bool
    enrolment_status: str
    tz: str
    days: str
    at_time: str
    snoozed_until: datetime | None
    lesson_title: str
    course_title: str
    has_quiz: bool


@dataclass(frozen=True)
class DeliveredDripLesson:
    delivery_id: int
    team_id: str
    enrolment_id: int
    user_id: str
    lesson_id: int
    tz: str
    days: str
    at_time: str


@dataclass(frozen=True)
class Notice:
    """A DM to queue in the outbox along with a follow-up's change."""

    dedupe_key: str
    recipient: str
    payload: dict[str, Any]
    drip_id: int | None


@dataclass(frozen=True)
class DripAttention:
    """Learners of a drip the lead should know about."""

    drip_id: int
    auto_paused: tuple[str, ...]  # enrolments that paused themselves (user ids)
    waiting: tuple[str, ...]  # reminded about a lesson they have not answered yet


class FollowupRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def lesson_delivery(self, delivery_id: int) -> DeliveredDripLesson | None:
        """A drip lesson delivered by DM, with its enrolment's schedule; None for anything else."""
        with self._db.direct() as connection:  # after every lesson sent: no ORM session
            row = connection.first(DRIP_LESSON_SENT, {"delivery_id": delivery_id})
        if row is None:
            return None
        return record(DeliveredDripLesson, row, delivery_id=delivery_id)

    def track(
        self,
        *,
        team_id: str,
        delivery_id: int,
        enrolment_id: int,
        user_id: str,
        lesson_id: int,
        delivered_at: datetime,
        next_at: datetime,
    ) -> bool:
        """Start following a delivered lesson up; False when it is followed already."""
        with self._db.write() as session:
            result = session.execute(
                insert_for(session)(LessonFollowup)
                .values(
                    team_id=team_id,
                    delivery_id=delivery_id,
                    enrolment_id=enrolment_id,
                    user_id=user_id,
                    lesson_id=lesson_id,
                    delivered_at=delivered_at,
                    reminders_sent=0,
                    next_at=next_at,
                    outcome=OPEN,
                )
                .on_conflict_do_nothing(index_elements=["team_id", "delivery_id"])
                .returning(col(LessonFollowup.id))
            ).first()
        return result is not None

    def due(self, *, now: datetime, limit: int) -> list[DueFollowup]:
        """Open follow-ups whose next step is due, oldest first."""
        if not self._db.found(FOLLOWUPS_DUE, now=now):  # most ticks
            return []
        with self._db.read() as session:
            rows = session.connection().execute(_DUE, {"now": now, "limit": limit}).all()
        return [
            record(
                DueFollowup,
                {**row._mapping, "answered": bool(row.answered), "has_quiz": bool(row.has_quiz)},
            )
            for row in rows
        ]

    def remind(
        self, followup: DueFollowup, *, next_at: datetime, notice: Notice, now: datetime
    ) -> bool:
        """Count one more reminder and queue it, in one transaction; False if already done."""
        with self._db.write() as session:
            if not self._step(
                session,
                followup,
                {"reminders_sent": followup.reminders_sent + 1, "next_at": next_at},
            ):
                return False
            queue_notice(session, followup.team_id, notice, now=now)
        return True

    def postpone(self, followup: DueFollowup, *, next_at: datetime) -> bool:
        """Move the next step to `next_at` (the learner is snoozed), counting nothing."""
        with self._db.write() as session:
            return self._step(session, followup, {"next_at": next_at})

    def settle(self, followup: DueFollowup, *, outcome: str, now: datetime) -> bool:
        """End following a lesson up: answered, missed or dropped."""
        with self._db.write() as session:
            return self._step(
                session, followup, {"outcome": outcome, "next_at": None, "settled_at": now}
            )

    @staticmethod
    def _step(session: Session, followup: DueFollowup, values: dict[str, Any]) -> bool:
        result = session.connection().execute(
            _step_statement(tuple(values)),
            {
                "followup_id": followup.id,
                "was_sent": followup.reminders_sent,
                "was_next_at": followup.next_at,
                **{f"new_{name}": value for name, value in values.items()},
            },
        )
        return bool(result.rowcount)

    def recent_outcomes(self, enrolment_id: int, *, last: int) -> list[bool]:
        """Whether each of the enrolment's last `last` settled lessons was answered, oldest first.

        Only lessons delivered since the enrolment last paused itself count (however it was
        resumed: by the learner or by its lead), and a lesson answered after it counted as
        missed counts as answered.
        """
        last_pause = (
            select(func.max(col(AutoPause.paused_at)))
            .where(col(AutoPause.enrolment_id) == enrolment_id)
            .scalar_subquery()
        )
        late = _answered()
        with self._db.read() as session:
            rows = session.execute(
                select(col(LessonFollowup.outcome), late)
                .where(
                    col(LessonFollowup.enrolment_id) == enrolment_id,
                    col(LessonFollowup.outcome).in_(("answered", "missed")),
                    or_(last_pause.is_(None), col(LessonFollowup.delivered_at) > last_pause),
                )
                .order_by(col(LessonFollowup.delivered_at).desc(), col(LessonFollowup.id).desc())
                .limit(last)
            ).all()
        return [outcome == "answered" or bool(answered) for outcome, answered in reversed(rows)]

    def attention(self, team_id: str, drip_ids: Sequence[int]) -> list[DripAttention]:
        """Per drip: who paused themselves, and who was reminded and has not answered yet."""
        if not drip_ids:
            return []
        with self._db.read() as session:
            paused = session.execute(
                select(col(Enrolment.drip_id), col(Enrolment.recipient))
                .join(AutoPause, col(AutoPause.enrolment_id) == col(Enrolment.id))
                .where(
                    col(Enrolment.team_id) == team_id,
                    col(Enrolment.drip_id).in_(drip_ids),
                    col(Enrolment.status) == "paused",
                    col(AutoPause.resumed_at).is_(None),
                )
                .distinct()
                .order_by(col(Enrolment.drip_id), col(Enrolment.recipient))
            ).all()
            waiting = session.execute(
                select(col(Enrolment.drip_id), col(LessonFollowup.user_id))
                .join(Enrolment, col(Enrolment.id) == col(LessonFollowup.enrolment_id))
                .where(
                    col(LessonFollowup.team_id) == team_id,
                    col(Enrolment.drip_id).in_(drip_ids),
                    col(LessonFollowup.outcome) == OPEN,
                    col(LessonFollowup.reminders_sent) > 0,
                )
                .group_by(col(Enrolment.drip_id), col(LessonFollowup.user_id))
                .order_by(col(Enrolment.drip_id), col(LessonFollowup.user_id))
            ).all()
        by_drip: dict[int, tuple[list[str], list[str]]] = {d: ([], []) for d in drip_ids}
        for drip_id, user_id in paused:
            by_drip[drip_id][0].append(user_id)
        for drip_id, user_id in waiting:
            by_drip[drip_id][1].append(user_id)
        return [
            DripAttention(drip_id, tuple(users), tuple(reminded))
            for drip_id, (users, reminded) in by_drip.items()
        ]

    def open_count(self, team_id: str) -> int:
        """Lessons still followed up in a workspace (for tests and operators)."""
        with self._db.read() as session:
            return int(
                session.execute(
                    select(func.count())
                    .select_from(LessonFollowup)
                    .where(
                        col(LessonFollowup.team_id) == team_id, col(LessonFollowup.outcome) == OPEN
                    )
                ).scalar_one()
            )


def _answered() -> Any:
    """Whether a follow-up's lesson was answered (its quiz) or completed (a lesson without one)."""
    return exists().where(
        col(Answer.team_id) == col(LessonFollowup.team_id),
        col(Answer.user_id) == col(LessonFollowup.user_id),
        col(Answer.delivery_id) == col(LessonFollowup.delivery_id),
    ) | exists().where(
        col(Completion.team_id) == col(LessonFollowup.team_id),
        col(Completion.user_id) == col(LessonFollowup.user_id),
        col(Completion.lesson_id) == col(LessonFollowup.lesson_id),
    )


def queue_notice(session: Session, team_id: str, notice: Notice, *, now: datetime) -> None:
    """A DM notice in the outbox, in the caller's transaction; its key keeps it to one."""
    connection = session.connection()
    connection.execute(
        _notice_statement(connection.dialect.name),
        {
            "team_id": team_id,
            "dedupe_key": notice.dedupe_key,
            "recipient": notice.recipient,
            "now": now,
            "drip_id": notice.drip_id,
            "payload": notice.payload,
        },
    )


# Statements a tick runs for each follow-up that fell due, built once (Core, on the tables).
_FOLLOWUPS: Table = table_of(LessonFollowup)
_DELIVERIES: Table = table_of(Delivery)
_STEPS: dict[tuple[str, ...], Any] = {}
_NOTICES: dict[str, Any] = {}


def _due_statement() -> Any:
    """Open follow-ups due by `now`, oldest first, the first `limit`: DueFollowup's fields."""
    f = _FOLLOWUPS.c
    enrolments: Table = table_of(Enrolment)
    lessons: Table = table_of(Lesson)
    courses: Table = table_of(Course)
    learners: Table = table_of(Learner)
    questions: Table = table_of(Question)
    answers: Table = table_of(Answer)
    completions: Table = table_of(Completion)
    e = enrolments.c
    answered = exists().where(
        answers.c.team_id == f.team_id,
        answers.c.user_id == f.user_id,
        answers.c.delivery_id == f.delivery_id,
    ) | exists().where(
        completions.c.team_id == f.team_id,
        completions.c.user_id == f.user_id,
        completions.c.lesson_id == f.lesson_id,
    )
    has_quiz = exists().where(questions.c.lesson_id == f.lesson_id, questions.c.retired.is_(False))
    return (
        select(
            f.id,
            f.team_id,
            f.delivery_id,
            f.enrolment_id,
            e.drip_id,
            f.user_id,
            f.delivered_at,
            f.reminders_sent,
            f.next_at,
            answered.label("answered"),
            e.status.label("enrolment_status"),
            e.tz,
            e.days,
            e.at_time,
            learners.c.snoozed_until,
            lessons.c.title.label("lesson_title"),
            courses.c.title.label("course_title"),
            has_quiz.label("has_quiz"),
        )
        .select_from(_FOLLOWUPS)
        .join(enrolments, e.id == f.enrolment_id)
        .join(lessons, lessons.c.id == f.lesson_id)
        .join(courses, courses.c.id == lessons.c.course_id)
        .outerjoin(
            learners,
            and_(learners.c.team_id == f.team_id, learners.c.user_id == f.user_id),
        )
        .where(f.outcome == OPEN, f.next_at <= bindparam("now"))
        .order_by(f.next_at, f.id)
        .limit(bindparam("limit"))
    )


_DUE = _due_statement()


def _step_statement(names: tuple[str, ...]) -> Any:
    """A follow-up's change of these columns (`new_<name>`), if it is still as it was read."""
    statement = _STEPS.get(names)
    if statement is None:
        c = _FOLLOWUPS.c
        statement = _STEPS[names] = (
            update(_FOLLOWUPS)
            .where(
                c.id == bindparam("followup_id"),
                c.outcome == OPEN,
                c.reminders_sent == bindparam("was_sent"),
                c.next_at == bindparam("was_next_at"),
            )
            .values({name: bindparam(f"new_{name}", type_=c[name].type) for name in names})
        )
    return statement


def _notice_statement(dialect: str) -> Any:
    """INSERT a pending DM notice … ON CONFLICT (team, dedupe key) DO NOTHING."""
    statement = _NOTICES.get(dialect)
    if statement is None:
        c = _DELIVERIES.c
        now = bindparam("now", type_=c.due_at.type)
        statement = _NOTICES[dialect] = (
            insert_for_dialect(dialect)(_DELIVERIES)
            .values(
                team_id=bindparam("team_id", type_=c.team_id.type),
                dedupe_key=bindparam("dedupe_key", type_=c.dedupe_key.type),
                kind="notice",
                recipient=bindparam("recipient", type_=c.recipient.type),
                recipient_kind="dm",
                status="pending",
                due_at=now,
                tries=0,
                created_at=now,
                drip_id=bindparam("drip_id", type_=c.drip_id.type),
                parts_sent=0,
                payload=bindparam("payload", type_=c.payload.type),
            )
            .on_conflict_do_nothing(index_elements=["team_id", "dedupe_key"])
        )
    return statement
