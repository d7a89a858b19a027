"""Drips: a course sent on a schedule to targets, and pausing, resuming or cancelling one."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, update
from sqlmodel import Session, col, select

from bot.storage.db import Database
from bot.storage.enrolments import LIVE
from bot.storage.models import Course, Drip, DripTarget, Enrolment, Lesson
from bot.storage.types import MAX_ROW_ID


@dataclass(frozen=True)
class DripRecord:
    id: int
    team_id: str
    course: str
    created_by: str
    status: str
    days: str
    at_time: str
    start_on: date | None
    channel_tz: str
    discuss_channel: str | None
    targets: tuple[tuple[str, str, str], ...]  # (kind, ref, label)
    enrolled: int
    finished: int
    next_due_at: datetime | None


class DripRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def transaction(self) -> AbstractContextManager[Session]:
        """A use case's unit of work over drips, enrolments and the outbox (same database):
        pass it as `tx=` and everything commits once."""
        return self._db.transaction()

    def course_lesson_count(self, course: str) -> int:
        with self._db.read() as session:
            return session.exec(
                select(func.count())
                .select_from(Lesson)
                .join(Course, col(Course.id) == col(Lesson.course_id))
                .where(Course.slug == course, col(Lesson.retired).is_(False))
            ).one()

    def create_drip(
        self,
        *,
        team_id: str,
        course: str,
        created_by: str,
        days: str,
        at_time: str,
        start_on: date | None,
        channel_tz: str,
        discuss_channel: str | None,
        targets: Sequence[tuple[str, str, str]],
        now: datetime,
        tx: Session | None = None,
    ) -> int:
        with self._db.write_in(tx) as session:
            course_id = session.exec(select(Course.id).where(Course.slug == course)).one()
            assert course_id is not None
            drip = Drip(
                team_id=team_id,
                course_id=course_id,
                created_by=created_by,
                days=days,
                at_time=at_time,
                start_on=start_on,
                channel_tz=channel_tz,
                discuss_channel=discuss_channel,
                created_at=now,
                updated_at=now,
            )
            session.add(drip)
            session.flush()
            assert drip.id is not None
            seen: set[tuple[str, str]] = set()
            for kind, ref, label in targets:
                if (kind, ref) in seen:
                    continue
                seen.add((kind, ref))
                session.add(
                    DripTarget(team_id=team_id, drip_id=drip.id, kind=kind, ref=ref, label=label)
                )
            return drip.id

    def drip(self, team_id: str, drip_id: int) -> DripRecord | None:
        if not 0 < drip_id <= MAX_ROW_ID:
            return None
        found = self.drips(team_id, drip_ids=[drip_id])
        return found[0] if found else None

    def drips(
        self, team_id: str, *, drip_ids: Sequence[int] | None = None, live_only: bool = False
    ) -> list[DripRecord]:
        with self._db.read() as session:
            query = (
                select(Drip, Course.slug)
                .join(Course, col(Course.id) == col(Drip.course_id))
                .where(Drip.team_id == team_id)
                .order_by(col(Drip.id))
            )
            if drip_ids is not None:
                query = query.where(col(Drip.id).in_(drip_ids))
            if live_only:
                query = query.where(col(Drip.status).in_(("active", "paused")))
            drips = session.exec(query).all()
            ids = [drip.id for drip, _ in drips if drip.id is not None]
            targets = _targets(session, ids)
            stats = _stats(session, ids)
        records = []
        for drip, course in drips:
            assert drip.id is not None
            total, finished, next_due = stats.get(drip.id, (0, 0, None))
            records.append(
                DripRecord(
                    id=drip.id,
                    team_id=drip.team_id,
                    course=course,
                    created_by=drip.created_by,
                    status=drip.status,
                    days=drip.days,
                    at_time=drip.at_time,
                    start_on=drip.start_on,
                    channel_tz=drip.channel_tz,
                    discuss_channel=drip.discuss_channel,
                    targets=tuple(targets.get(drip.id, [])),
                    enrolled=int(total or 0),
                    finished=int(finished or 0),
                    next_due_at=next_due,
                )
            )
        return records

    def set_drip_status(self, team_id: str, drip_id: int, status: str, *, now: datetime) -> None:
        """Pause, resume (status active) or cancel a drip together with its live enrolments."""
        with self._db.write() as session:
            drip = session.exec(
                select(Drip).where(Drip.team_id == team_id, Drip.id == drip_id)
            ).one()
            drip.status = status
            drip.updated_at = now
            session.add(drip)
            moves = {"paused": ("active", "paused"), "active": ("paused", "active")}
            if status in moves:
                before, after = moves[status]
                session.execute(
                    update(Enrolment)
                    .where(
                        col(Enrolment.team_id) == team_id,
                        col(Enrolment.drip_id) == drip_id,
                        col(Enrolment.status) == before,
                    )
                    .values(status=after)
                )
            elif status == "cancelled":
                session.execute(
                    update(Enrolment)
                    .where(
                        col(Enrolment.team_id) == team_id,
                        col(Enrolment.drip_id) == drip_id,
                        col(Enrolment.status).in_(LIVE),
                    )
                    .values(status="cancelled", next_due_at=None)
                )


def _targets(session: Session, ids: list[int]) -> dict[int, list[tuple[str, str, str]]]:
    """Each drip's targets as (kind, ref, label), in the order they were added."""
    targets: dict[int, list[tuple[str, str, str]]] = {}
    for target in session.exec(
        select(DripTarget).where(col(DripTarget.drip_id).in_(ids)).order_by(col(DripTarget.id))
    ).all():
        targets.setdefault(target.drip_id, []).append((target.kind, target.ref, target.label))
    return targets


def _stats(session: Session, ids: list[int]) -> dict[int, tuple[int, int, datetime | None]]:
    """Each drip's enrolments, finished enrolments and soonest due instant."""
    return {
        drip_id: (total, finished, next_due)
        for drip_id, total, finished, next_due in session.exec(
            select(
                Enrolment.drip_id,
                func.count(),
                func.sum(case((col(Enrolment.status) == "finished", 1), else_=0)),
                func.min(Enrolment.next_due_at),
            )
            .where(col(Enrolment.drip_id).in_(ids))
            .group_by(col(Enrolment.drip_id))
        ).all()
    }
