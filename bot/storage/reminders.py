"""Follow-ups of DM drip lessons: reminders while unanswered, and enrolments that paused themselves.

Every change of a follow-up is a conditional update on the state it was read in (outcome, count,
due instant), made in the same transaction as the notice it queues: two processes reading the
same due follow-up queue its reminder once, and the notice's dedupe key is the last guard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlmodel import Session, col

from bot.storage.db import Database, insert_for
from bot.storage.models import (
    Answer,
    AutoPause,
    Completion,
    Course,
    Delivery,
    Drip,
    Enrolment,
    Learner,
    Lesson,
    LessonFollowup,
    Question,
)
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
class PausedEnrolment:
    """An enrolment that paused itself and has not been resumed."""

    enrolment_id: int
    team_id: str
    drip_id: int
    user_id: str
    course: str  # its title
    status: str
    drip_status: str
    tz: str
    days: str
    at_time: str
    start_on: date | None
    paused_at: datetime
    snoozed_until: datetime | None


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
        with self._db.read() as session:
            row = session.execute(
                select(
                    col(Delivery.team_id),
                    col(Delivery.enrolment_id),
                    col(Delivery.recipient).label("user_id"),
                    col(Delivery.lesson_id),
                    col(Enrolment.tz),
                    col(Enrolment.days),
                    col(Enrolment.at_time),
                )
                .join(Enrolment, col(Enrolment.id) == col(Delivery.enrolment_id))
                .where(
                    col(Delivery.id) == delivery_id,
                    col(Delivery.kind) == "lesson",
                    col(Delivery.recipient_kind) == "dm",
                    col(Delivery.lesson_id).is_not(None),
                )
            ).first()
        if row is None:
            return None
        return record(DeliveredDripLesson, row._mapping, delivery_id=delivery_id)

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
        answered = exists().where(
            col(Answer.team_id) == col(LessonFollowup.team_id),
            col(Answer.user_id) == col(LessonFollowup.user_id),
            col(Answer.delivery_id) == col(LessonFollowup.delivery_id),
        ) | exists().where(
            col(Completion.team_id) == col(LessonFollowup.team_id),
            col(Completion.user_id) == col(LessonFollowup.user_id),
            col(Completion.lesson_id) == col(LessonFollowup.lesson_id),
        )
        has_quiz = exists().where(
            col(Question.lesson_id) == col(LessonFollowup.lesson_id),
            col(Question.retired).is_(False),
        )
        with self._db.read() as session:
            rows = session.execute(
                select(
                    LessonFollowup,
                    answered,
                    col(Enrolment.status),
                    col(Enrolment.drip_id),
                    col(Enrolment.tz),
                    col(Enrolment.days),
                    col(Enrolment.at_time),
                    col(Learner.snoozed_until),
                    col(Lesson.title),
                    col(Course.title),
                    has_quiz,
                )
                .join(Enrolment, col(Enrolment.id) == col(LessonFollowup.enrolment_id))
                .join(Lesson, col(Lesson.id) == col(LessonFollowup.lesson_id))
                .join(Course, col(Course.id) == col(Lesson.course_id))
                .join(
                    Learner,
                    and_(
                        col(Learner.team_id) == col(LessonFollowup.team_id),
                        col(Learner.user_id) == col(LessonFollowup.user_id),
                    ),
                    isouter=True,
                )
                .where(col(LessonFollowup.outcome) == OPEN, col(LessonFollowup.next_at) <= now)
                .order_by(col(LessonFollowup.next_at), col(LessonFollowup.id))
                .limit(limit)
            ).all()
        found = []
        for row, is_answered, status, drip_id, tz, days, at, snoozed, lesson, course, quiz in rows:
            assert row.id is not None and row.next_at is not None
            found.append(
                DueFollowup(
                    id=row.id,
                    team_id=row.team_id,
                    delivery_id=row.delivery_id,
                    enrolment_id=row.enrolment_id,
                    drip_id=drip_id,
                    user_id=row.user_id,
                    delivered_at=row.delivered_at,
                    reminders_sent=row.reminders_sent,
                    next_at=row.next_at,
                    answered=bool(is_answered),
                    enrolment_status=status,
                    tz=tz,
                    days=days,
                    at_time=at,
                    snoozed_until=snoozed,
                    lesson_title=lesson,
                    course_title=course,
                    has_quiz=bool(quiz),
                )
            )
        return found

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
            _queue(session, followup.team_id, notice, now=now)
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
        result = session.execute(
            update(LessonFollowup)
            .where(
                col(LessonFollowup.id) == followup.id,
                col(LessonFollowup.outcome) == OPEN,
                col(LessonFollowup.reminders_sent) == followup.reminders_sent,
                col(LessonFollowup.next_at) == followup.next_at,
            )
            .values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

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
        late = exists().where(
            col(Answer.team_id) == col(LessonFollowup.team_id),
            col(Answer.user_id) == col(LessonFollowup.user_id),
            col(Answer.delivery_id) == col(LessonFollowup.delivery_id),
        ) | exists().where(
            col(Completion.team_id) == col(LessonFollowup.team_id),
            col(Completion.user_id) == col(LessonFollowup.user_id),
            col(Completion.lesson_id) == col(LessonFollowup.lesson_id),
        )
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

    def pause(
        self,
        *,
        team_id: str,
        enrolment_id: int,
        drip_id: int,
        user_id: str,
        notice: Notice,
        now: datetime,
    ) -> bool:
        """Pause an active enrolment on its own, drop its open follow-ups and queue the one DM."""
        with self._db.write() as session:
            paused = session.execute(
                update(Enrolment)
                .where(col(Enrolment.id) == enrolment_id, col(Enrolment.status) == "active")
                .values(status="paused")
            )
            if not paused.rowcount:  # type: ignore[attr-defined]
                return False
            session.execute(
                insert_for(session)(AutoPause)
                .values(
                    team_id=team_id,
                    enrolment_id=enrolment_id,
                    drip_id=drip_id,
                    user_id=user_id,
                    paused_at=now,
                )
                .on_conflict_do_nothing(index_elements=["team_id", "enrolment_id", "paused_at"])
            )
            session.execute(
                update(LessonFollowup)
                .where(
                    col(LessonFollowup.enrolment_id) == enrolment_id,
                    col(LessonFollowup.outcome) == OPEN,
                )
                .values(outcome="dropped", next_at=None, settled_at=now)
            )
            _queue(session, team_id, notice, now=now)
        return True

    def paused_of(self, team_id: str, user_id: str) -> list[int]:
        """The learner's enrolments that paused themselves and are still paused."""
        with self._db.read() as session:
            return list(
                session.execute(
                    select(col(AutoPause.enrolment_id))
                    .join(Enrolment, col(Enrolment.id) == col(AutoPause.enrolment_id))
                    .where(
                        col(AutoPause.team_id) == team_id,
                        col(AutoPause.user_id) == user_id,
                        col(AutoPause.resumed_at).is_(None),
                        col(Enrolment.status) == "paused",
                    )
                    .distinct()
                )
                .scalars()
                .all()
            )

    def paused(self, team_id: str, enrolment_id: int) -> PausedEnrolment | None:
        """The enrolment's latest auto-pause that was not resumed, with what resuming needs."""
        with self._db.read() as session:
            row = session.execute(
                select(AutoPause, Enrolment, col(Course.title), col(Drip.status), Learner)
                .join(Enrolment, col(Enrolment.id) == col(AutoPause.enrolment_id))
                .join(Drip, col(Drip.id) == col(Enrolment.drip_id))
                .join(Course, col(Course.id) == col(Drip.course_id))
                .join(
                    Learner,
                    and_(
                        col(Learner.team_id) == col(AutoPause.team_id),
                        col(Learner.user_id) == col(AutoPause.user_id),
                    ),
                    isouter=True,
                )
                .where(
                    col(AutoPause.team_id) == team_id,
                    col(AutoPause.enrolment_id) == enrolment_id,
                    col(AutoPause.resumed_at).is_(None),
                )
                .order_by(col(AutoPause.paused_at).desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        pause, enrolment, course, drip_status, learner = row
        assert enrolment.id is not None
        return PausedEnrolment(
            enrolment_id=enrolment.id,
            team_id=pause.team_id,
            drip_id=enrolment.drip_id,
            user_id=pause.user_id,
            course=course,
            status=enrolment.status,
            drip_status=drip_status,
            tz=enrolment.tz,
            days=enrolment.days,
            at_time=enrolment.at_time,
            start_on=enrolment.start_on,
            paused_at=pause.paused_at,
            snoozed_until=learner.snoozed_until if learner else None,
        )

    def resume(
        self, *, team_id: str, enrolment_id: int, next_due_at: datetime, now: datetime
    ) -> bool:
        """Resume an enrolment that paused itself; its earlier misses no longer count."""
        with self._db.write() as session:
            session.execute(
                update(AutoPause)
                .where(
                    col(AutoPause.team_id) == team_id,
                    col(AutoPause.enrolment_id) == enrolment_id,
                    col(AutoPause.resumed_at).is_(None),
                )
                .values(resumed_at=now)
            )
            session.execute(
                update(LessonFollowup)
                .where(
                    col(LessonFollowup.enrolment_id) == enrolment_id,
                    col(LessonFollowup.outcome) == "missed",
                )
                .values(outcome="forgiven")
            )
            resumed = session.execute(
                update(Enrolment)
                .where(col(Enrolment.id) == enrolment_id, col(Enrolment.status) == "paused")
                .values(status="active", next_due_at=next_due_at)
            )
            return bool(resumed.rowcount)  # type: ignore[attr-defined]

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


def _queue(session: Session, team_id: str, notice: Notice, *, now: datetime) -> None:
    """A DM notice in the outbox, in the caller's transaction; its key keeps it to one."""
    session.execute(
        insert_for(session)(Delivery)
        .values(
            team_id=team_id,
            dedupe_key=notice.dedupe_key,
            kind="notice",
            recipient=notice.recipient,
            recipient_kind="dm",
            status="pending",
            due_at=now,
            tries=0,
            created_at=now,
            drip_id=notice.drip_id,
            parts_sent=0,
            payload=notice.payload,
        )
        .on_conflict_do_nothing(index_elements=["team_id", "dedupe_key"])
    )
