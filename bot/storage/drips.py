"""Drips, their targets, learners and enrolments."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import case, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.storage.db import Database, insert_for, insert_for_dialect
from bot.storage.fastlane import LEARNER, REVIEW_SCHEDULE
from bot.storage.models import Course, Drip, DripTarget, Enrolment, Lead, Learner, Lesson
from bot.storage.rows import record
from bot.storage.types import MAX_ROW_ID

TERMINAL = ("finished", "stopped", "cancelled", "left")
LIVE = ("waiting", "active", "paused")


@dataclass(frozen=True)
class LearnerRecord:
    team_id: str
    user_id: str
    name: str
    first_name: str
    tz: str
    tz_checked_at: datetime | None
    is_admin: bool
    deactivated: bool
    snoozed_until: datetime | None
    dm_channel: str | None
    pref_days: str | None
    pref_at: str | None


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


@dataclass(frozen=True)
class EnrolmentRecord:
    id: int
    team_id: str
    drip_id: int
    course: str
    recipient: str
    recipient_kind: str
    status: str
    next_position: int
    next_due_at: datetime | None
    tz: str
    days: str
    at_time: str
    start_on: date | None
    enrolled_by: str


@dataclass(frozen=True)
class NewEnrolment:
    recipient: str
    recipient_kind: str  # dm | channel
    tz: str
    days: str
    at_time: str
    start_on: date | None
    next_due_at: datetime | None
    status: str  # waiting | active


def _learner(row: Learner) -> LearnerRecord:
    return LearnerRecord(
        team_id=row.team_id,
        user_id=row.user_id,
        name=row.name,
        first_name=row.first_name,
        tz=row.tz,
        tz_checked_at=row.tz_checked_at,
        is_admin=row.is_admin,
        deactivated=row.deactivated,
        snoozed_until=row.snoozed_until,
        dm_channel=row.dm_channel,
        pref_days=row.pref_days,
        pref_at=row.pref_at,
    )


def _enrolment(row: Enrolment, course: str) -> EnrolmentRecord:
    assert row.id is not None
    return EnrolmentRecord(
        id=row.id,
        team_id=row.team_id,
        drip_id=row.drip_id,
        course=course,
        recipient=row.recipient,
        recipient_kind=row.recipient_kind,
        status=row.status,
        next_position=row.next_position,
        next_due_at=row.next_due_at,
        tz=row.tz,
        days=row.days,
        at_time=row.at_time,
        start_on=row.start_on,
        enrolled_by=row.enrolled_by,
    )


class DripRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- people -------------------------------------------------------------------------------

    def transaction(self) -> AbstractContextManager[Session]:
        """A use case's unit of work over drips, enrolments and the outbox (same database):
        pass it as `tx=` and everything commits once."""
        return self._db.transaction()

    def learner(self, team_id: str, user_id: str) -> LearnerRecord | None:
        with self._db.direct() as connection:  # a hot path: no ORM session
            row = connection.first(LEARNER, {"team_id": team_id, "user_id": user_id})
        return None if row is None else record(LearnerRecord, row)

    def review_schedule(
        self, team_id: str, user_id: str
    ) -> tuple[str | None, list[tuple[str, str, str, str]]]:
        """In one query: the learner's zone, if known, and their DM enrolments' schedules.

        The schedules come as (status, days, at_time, tz), soonest due first.
        """
        with self._db.direct() as connection:
            rows = connection.all(REVIEW_SCHEDULE, {"team_id": team_id, "user_id": user_id})
        if not rows:  # not stored yet (Slack did not answer users.info): their enrolments only
            return None, [
                (e.status, e.days, e.at_time, e.tz)
                for e in self.enrolments(team_id, recipient=user_id)
                if e.recipient_kind == "dm"
            ]
        schedules = [
            (row["status"], row["days"], row["at_time"], row["tz"])
            for row in rows
            if row["status"] is not None
        ]
        return rows[0]["learner_tz"], schedules

    def save_profile(
        self,
        team_id: str,
        user_id: str,
        *,
        name: str,
        first_name: str,
        tz: str,
        is_admin: bool,
        deactivated: bool,
        now: datetime,
    ) -> tuple[LearnerRecord, str | None]:
        """Store what Slack says about a person; return the record and their previous zone."""
        for attempt in range(2):
            try:
                with self._db.write() as session:
                    row = session.exec(
                        select(Learner).where(
                            Learner.team_id == team_id, Learner.user_id == user_id
                        )
                    ).first()
                    previous = row.tz if row and row.tz_checked_at else None
                    if row is None:
                        row = Learner(team_id=team_id, user_id=user_id, created_at=now)
                    row.name = name[:200]
                    row.first_name = first_name[:200]
                    row.tz = tz
                    row.is_admin = is_admin
                    row.deactivated = deactivated
                    row.tz_checked_at = now
                    session.add(row)
                    session.flush()
                    return _learner(row), previous
            except IntegrityError:  # another process inserted the same person first
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def set_dm_channel(self, team_id: str, user_id: str, channel: str, *, now: datetime) -> None:
        """Remember someone's DM channel; someone not stored yet is stored with it, and their
        profile (name, zone) is then fetched by the next tick's refresh, not by their clicks."""
        # Not made durable at commit: if a crash loses it, the next DM goes by user id and
        # Slack names the channel again.
        with self._db.write_connection(durable=False) as connection:
            connection.execute(
                insert_for_dialect(connection.dialect.name)(Learner)
                .values(team_id=team_id, user_id=user_id, dm_channel=channel, created_at=now)
                .on_conflict_do_update(
                    index_elements=["team_id", "user_id"], set_={"dm_channel": channel}
                )
            )

    def mark_gone(self, team_id: str, user_id: str, *, now: datetime) -> None:
        """Slack no longer knows this person: stored as deactivated, so nobody asks again."""
        with self._db.write() as session:
            session.execute(
                insert_for(session)(Learner)
                .values(
                    team_id=team_id,
                    user_id=user_id,
                    deactivated=True,
                    tz_checked_at=now,
                    created_at=now,
                )
                .on_conflict_do_update(
                    index_elements=["team_id", "user_id"],
                    set_={"deactivated": True, "tz_checked_at": now},
                )
            )

    def set_snooze(self, team_id: str, user_id: str, until: datetime | None) -> None:
        with self._db.write() as session:
            session.execute(
                update(Learner)
                .where(col(Learner.team_id) == team_id, col(Learner.user_id) == user_id)
                .values(snoozed_until=until)
            )

    def learners_to_refresh(self, *, stale_before: datetime, limit: int) -> list[tuple[str, str]]:
        """(team, user) of people with live enrolments whose profile is unknown or stale, then of
        people stored without a profile yet (someone a lesson was sent to, say)."""
        with self._db.read() as session:
            stale = (col(Learner.tz_checked_at).is_(None)) | (
                col(Learner.tz_checked_at) < stale_before
            )
            rows = session.exec(
                select(Enrolment.team_id, Enrolment.recipient)
                .join(
                    Learner,
                    (col(Learner.team_id) == col(Enrolment.team_id))
                    & (col(Learner.user_id) == col(Enrolment.recipient)),
                    isouter=True,
                )
                .where(
                    col(Enrolment.recipient_kind) == "dm",
                    col(Enrolment.status).in_(("waiting", "active")),
                    stale | col(Learner.id).is_(None),
                )
                .distinct()
                .limit(limit)
            ).all()
            wanted = [(team, user) for team, user in rows]
            if len(wanted) < limit:
                unknown = session.exec(
                    select(Learner.team_id, Learner.user_id)
                    .where(
                        col(Learner.tz_checked_at).is_(None), col(Learner.deactivated).is_(False)
                    )
                    .order_by(col(Learner.id))
                    .limit(limit)
                ).all()
                seen = set(wanted)
                wanted += [(team, user) for team, user in unknown if (team, user) not in seen]
        return wanted[:limit]

    def is_lead(self, team_id: str, user_id: str) -> bool:
        with self._db.read() as session:
            return (
                session.exec(
                    select(Lead.id).where(Lead.team_id == team_id, Lead.user_id == user_id)
                ).first()
                is not None
            )

    def grant_lead(self, team_id: str, user_id: str, *, granted_by: str, now: datetime) -> bool:
        """True if granted now, False if they already were a lead."""
        try:
            with self._db.write() as session:
                session.add(
                    Lead(team_id=team_id, user_id=user_id, granted_by=granted_by, granted_at=now)
                )
        except IntegrityError:
            return False
        return True

    def revoke_lead(self, team_id: str, user_id: str) -> bool:
        with self._db.write() as session:
            row = session.exec(
                select(Lead).where(Lead.team_id == team_id, Lead.user_id == user_id)
            ).first()
            if row is None:
                return False
            session.delete(row)
            return True

    # -- drips --------------------------------------------------------------------------------

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

    def enrol(
        self,
        *,
        team_id: str,
        drip_id: int,
        enrolled_by: str,
        enrolments: Iterable[NewEnrolment],
        now: datetime,
        tx: Session | None = None,
    ) -> list[str]:
        """Create the enrolments that do not exist yet; return the recipients newly enrolled."""
        created: list[str] = []
        with self._db.write_in(tx) as session:
            existing = set(
                session.exec(
                    select(Enrolment.recipient).where(
                        Enrolment.team_id == team_id, Enrolment.drip_id == drip_id
                    )
                ).all()
            )
            for new in enrolments:
                if new.recipient in existing:
                    continue
                existing.add(new.recipient)
                session.add(
                    Enrolment(
                        team_id=team_id,
                        drip_id=drip_id,
                        recipient=new.recipient,
                        recipient_kind=new.recipient_kind,
                        next_position=1,
                        next_due_at=new.next_due_at,
                        status=new.status,
                        enrolled_by=enrolled_by,
                        created_at=now,
                        tz=new.tz,
                        days=new.days,
                        at_time=new.at_time,
                        start_on=new.start_on,
                    )
                )
                created.append(new.recipient)
        return created

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
            ids = [drip.id for drip, _ in drips]
            targets: dict[int, list[tuple[str, str, str]]] = {}
            for target in session.exec(
                select(DripTarget)
                .where(col(DripTarget.drip_id).in_(ids))
                .order_by(col(DripTarget.id))
            ).all():
                targets.setdefault(target.drip_id, []).append(
                    (target.kind, target.ref, target.label)
                )
            stats = {
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

    def finish_drip(
        self, team_id: str, drip_id: int, *, now: datetime, tx: Session | None = None
    ) -> bool:
        """Mark an active drip finished once no enrolment is live; True if it just finished."""
        with self._db.write_in(tx) as session:
            return finish_if_done(session, team_id, drip_id, now=now)

    # -- enrolments ---------------------------------------------------------------------------

    def enrolments(
        self,
        team_id: str,
        *,
        recipient: str | None = None,
        drip_id: int | None = None,
        statuses: Sequence[str] | None = None,
    ) -> list[EnrolmentRecord]:
        with self._db.read() as session:
            query = (
                select(Enrolment, Course.slug)
                .join(Drip, col(Drip.id) == col(Enrolment.drip_id))
                .join(Course, col(Course.id) == col(Drip.course_id))
                .where(Enrolment.team_id == team_id)
                .order_by(col(Enrolment.next_due_at), col(Enrolment.id))
            )
            if recipient is not None:
                query = query.where(Enrolment.recipient == recipient)
            if drip_id is not None:
                query = query.where(Enrolment.drip_id == drip_id)
            if statuses is not None:
                query = query.where(col(Enrolment.status).in_(statuses))
            return [_enrolment(row, course) for row, course in session.exec(query).all()]

    def reschedule(
        self,
        enrolment_id: int,
        *,
        next_due_at: datetime | None,
        status: str | None = None,
        tz: str | None = None,
        days: str | None = None,
        at_time: str | None = None,
        only_if_status: Sequence[str] | None = None,
    ) -> bool:
        values: dict[str, object] = {"next_due_at": next_due_at}
        for key, value in (("status", status), ("tz", tz), ("days", days), ("at_time", at_time)):
            if value is not None:
                values[key] = value
        with self._db.write() as session:
            query = update(Enrolment).where(col(Enrolment.id) == enrolment_id)
            if only_if_status is not None:
                query = query.where(col(Enrolment.status).in_(only_if_status))
            return bool(session.execute(query.values(**values)).rowcount)  # type: ignore[attr-defined]

    def advance(self, enrolment_id: int, *, position: int, lesson_count: int) -> bool:
        """Move an enrolment past `position` (a lesson pulled early); False if it moved already."""
        with self._db.write() as session:
            row = session.get(Enrolment, enrolment_id)
            if row is None or row.next_position != position:
                return False
            row.next_position = position + 1
            if row.next_position > lesson_count:
                row.status = "finished"
                row.next_due_at = None
            session.add(row)
            return True

    def set_learner_prefs(
        self, team_id: str, user_id: str, *, days: str | None, at_time: str | None
    ) -> None:
        with self._db.write() as session:
            session.execute(
                update(Learner)
                .where(col(Learner.team_id) == team_id, col(Learner.user_id) == user_id)
                .values(pref_days=days, pref_at=at_time)
            )


def finish_if_done(session: Session, team_id: str, drip_id: int, *, now: datetime) -> bool:
    """Finish an active drip none of whose enrolments is live, in the caller's transaction;
    True if it just finished. The one place a drip finishes (lead actions, the plan step)."""
    live = session.execute(
        select(func.count())
        .select_from(Enrolment)
        .where(
            col(Enrolment.team_id) == team_id,
            col(Enrolment.drip_id) == drip_id,
            col(Enrolment.status).in_(LIVE),
        )
    ).scalar_one()
    if live:
        return False
    result = session.execute(
        update(Drip)
        .where(col(Drip.id) == drip_id, col(Drip.status) == "active")
        .values(status="finished", finished_at=now, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
