"""Auto-pauses: enrolments that paused themselves after unanswered lessons, and resuming them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, select, update
from sqlmodel import col

from bot.storage.db import Database, insert_for
from bot.storage.models import AutoPause, Course, Drip, Enrolment, Learner, LessonFollowup
from bot.storage.reminders import OPEN, Notice, queue_notice


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


class AutoPauseRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

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
            queue_notice(session, team_id, notice, now=now)
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
