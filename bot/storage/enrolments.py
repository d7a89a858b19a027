"""Enrolments: who follows which drip, where they are in it, and pausing, stopping or finishing."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, func, literal, update
from sqlmodel import Session, col, select

from bot.storage.db import Database
from bot.storage.fastlane import ENROLMENTS_OF
from bot.storage.models import Course, Delivery, Drip, Enrolment
from bot.storage.rows import record

TERMINAL = ("finished", "stopped", "cancelled", "left")
LIVE = ("waiting", "active", "paused")
_CHUNK = 500  # ids per IN list: far below either database's limit on parameters


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


class EnrolmentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

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

    def enrolments(
        self,
        team_id: str,
        *,
        recipient: str | None = None,
        drip_id: int | None = None,
        statuses: Sequence[str] | None = None,
    ) -> list[EnrolmentRecord]:
        if recipient is not None and drip_id is None:
            return self._enrolments_of(team_id, recipient, statuses)
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

    def _enrolments_of(
        self, team_id: str, recipient: str, statuses: Sequence[str] | None
    ) -> list[EnrolmentRecord]:
        """One person's (or channel's): a hot path (Home, the dashboard, self-service commands),
        so on the fast lane; a few rows, their statuses picked here."""
        values = {"team_id": team_id, "recipient": recipient}
        with self._db.direct() as connection:
            rows = connection.all(ENROLMENTS_OF, values)
        found = [record(EnrolmentRecord, row) for row in rows]
        return found if statuses is None else [e for e in found if e.status in statuses]

    def enrolments_of(
        self, team_id: str, recipients: Sequence[str], *, statuses: Sequence[str]
    ) -> dict[str, list[EnrolmentRecord]]:
        """`enrolments(recipient=…)` for many recipients at once: by recipient, each in the same
        order (the time-zone lookup asks for a batch of people in one query, not one each)."""
        found: dict[str, list[EnrolmentRecord]] = {}
        wanted = sorted(set(recipients))
        with self._db.read() as session:
            for start in range(0, len(wanted), _CHUNK):
                query = (
                    select(Enrolment, Course.slug)
                    .join(Drip, col(Drip.id) == col(Enrolment.drip_id))
                    .join(Course, col(Course.id) == col(Drip.course_id))
                    .where(
                        Enrolment.team_id == team_id,
                        col(Enrolment.recipient).in_(wanted[start : start + _CHUNK]),
                        col(Enrolment.status).in_(statuses),
                    )
                    .order_by(col(Enrolment.next_due_at), col(Enrolment.id))
                )
                for row, course in session.exec(query).all():
                    found.setdefault(row.recipient, []).append(_enrolment(row, course))
        return found

    def reschedule(
        self,
        enrolment_id: int,
        *,
        next_due_at: datetime | None,
        status: str | None = None,
        days: str | None = None,
        at_time: str | None = None,
    ) -> bool:
        values: dict[str, object] = {"next_due_at": next_due_at}
        for key, value in (("status", status), ("days", days), ("at_time", at_time)):
            if value is not None:
                values[key] = value
        with self._db.write() as session:
            query = update(Enrolment).where(col(Enrolment.id) == enrolment_id)
            return bool(session.execute(query.values(**values)).rowcount)  # type: ignore[attr-defined]

    def activate_in_zones(self, moves: Sequence[tuple[int, datetime, str]]) -> None:
        """(enrolment id, next due instant, zone) each: active from that instant in that zone,
        unless no longer waiting or active. One transaction and one statement for all of them
        (a batch of profiles looked up at once)."""
        if not moves:
            return
        table = Enrolment.__table__  # type: ignore[attr-defined]
        statement = (
            update(table)
            .where(
                table.c.id == bindparam("enrolment_id"),
                table.c.status.in_([literal("waiting"), literal("active")]),
            )
            .values(next_due_at=bindparam("due"), status="active", tz=bindparam("zone"))
        )
        rows = [{"enrolment_id": e, "due": due, "zone": zone} for e, due, zone in moves]
        with self._db.write() as session:
            session.connection().execute(statement, rows)

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

    def stop(self, enrolment_id: int) -> None:
        with self._db.write() as session:
            session.execute(
                update(Enrolment)
                .where(col(Enrolment.id) == enrolment_id)
                .values(status="stopped", next_due_at=None)
            )

    def pause(self, enrolment_id: int, *, position: int | None) -> None:
        """Pause an enrolment (at `position`, so the failed lesson is the next one)."""
        values: dict[str, Any] = {"status": "paused"}
        if position is not None:
            values["next_position"] = position
        with self._db.write() as session:
            enrolment = session.get(Enrolment, enrolment_id)
            if enrolment is None:
                return
            if enrolment.status == "finished":
                values["finished_at"] = None
            if enrolment.next_due_at is None:
                values["next_due_at"] = enrolment.created_at  # resume moves it to the next slot
            session.execute(
                update(Enrolment).where(col(Enrolment.id) == enrolment_id).values(**values)
            )

    def cancel_pending(self, team_id: str, drip_id: int) -> int:
        """Cancel the drip's lesson deliveries still waiting to go out; return how many."""
        with self._db.write() as session:
            result = session.execute(
                update(Delivery)
                .where(
                    col(Delivery.team_id) == team_id,
                    col(Delivery.drip_id) == drip_id,
                    col(Delivery.status) == "pending",
                    col(Delivery.kind) == "lesson",
                )
                .values(status="cancelled")
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def finish_drip(
        self, team_id: str, drip_id: int, *, now: datetime, tx: Session | None = None
    ) -> bool:
        """Mark an active drip finished once none of its enrolments is live; True if it just
        finished. The one place a drip finishes (lead actions, leaving, failures, the plan step)."""
        with self._db.write_in(tx) as session:
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
