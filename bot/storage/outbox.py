"""The outbox: deliveries to send, enqueued once by dedupe key and claimed with a lease.

Claiming uses a lease and a claim token; on PostgreSQL `FOR UPDATE SKIP LOCKED` lets several
processes drain side by side. The plan step (bot/storage/plan.py) writes lessons' deliveries here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Table, and_, func, or_, select, update
from sqlmodel import Session, col

from bot.storage.db import Database, StorageUnavailable, describe, insert_for
from bot.storage.fastlane import DELIVERIES_DUE, RECORD_PART
from bot.storage.models import Course, Delivery, Drip, Learner, Lesson, Question

# A claimed delivery with its course, lesson, drip owner, recipient and discussion channel.
_Detail = Row[Delivery, str | None, str | None, str | None, Learner | None, str | None]

# Rows per multi-row INSERT when many deliveries are added at once (SQLite allows 32,766 values).
_ENQUEUE_CHUNK = 1_000


@dataclass(frozen=True)
class Claimed:
    """A delivery this process now owns until `lease_until`."""

    id: int
    team_id: str
    kind: str
    token: str
    recipient: str
    recipient_kind: str
    course: str | None
    lesson: str | None
    question_position: int | None
    drip_id: int | None
    drip_owner: str | None
    enrolment_id: int | None
    parts_sent: int
    channel_id: str | None
    message_ts: str | None
    payload: dict[str, Any] | None
    tries: int
    resumed: bool  # a previous claim expired mid-send: look for what it already posted
    claimed_at: datetime
    first_name: str
    dm_channel: str | None
    discuss_channel: str | None = None
    snoozed_until: datetime | None = None


@dataclass(frozen=True)
class DeliveryState:
    id: int
    status: str
    kind: str
    recipient: str
    parts_sent: int
    channel_id: str | None
    message_ts: str | None
    error: str | None
    lesson_id: int | None


class Outbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- enqueueing ---------------------------------------------------------------------------

    def enqueue(
        self,
        *,
        team_id: str,
        dedupe_key: str,
        kind: str,
        recipient: str,
        recipient_kind: str,
        due_at: datetime,
        now: datetime,
        lesson: tuple[str, str] | None = None,
        question_position: int | None = None,
        drip_id: int | None = None,
        enrolment_id: int | None = None,
        payload: dict[str, Any] | None = None,
        tx: Session | None = None,
    ) -> bool:
        """Add one delivery; False when one with this dedupe key exists already."""
        with self._db.write_in(tx) as session:
            lesson_id = question_id = None
            if lesson is not None:
                lesson_id = _lesson_id(session, lesson)
                if question_position is not None:
                    question_id = session.execute(
                        select(col(Question.id)).where(
                            col(Question.lesson_id) == lesson_id,
                            col(Question.position) == question_position,
                        )
                    ).scalar_one()
            statement = (
                insert_for(session)(Delivery)
                .values(
                    team_id=team_id,
                    dedupe_key=dedupe_key,
                    kind=kind,
                    enrolment_id=enrolment_id,
                    recipient=recipient,
                    recipient_kind=recipient_kind,
                    lesson_id=lesson_id,
                    question_id=question_id,
                    status="pending",
                    due_at=due_at,
                    tries=0,
                    created_at=now,
                    drip_id=drip_id,
                    parts_sent=0,
                    payload=payload,
                )
                .on_conflict_do_nothing(index_elements=["team_id", "dedupe_key"])
                .returning(col(Delivery.id))
            )
            return session.execute(statement).first() is not None

    def enqueue_lessons(
        self,
        *,
        team_id: str,
        lesson: tuple[str, str],
        recipients: Sequence[tuple[str, str, str]],
        due_at: datetime,
        now: datetime,
        payload: dict[str, Any] | None = None,
    ) -> int:
        """Add one lesson delivery per (dedupe key, recipient, recipient kind), in one transaction.

        Keys that exist already are skipped; returns how many deliveries were added.
        """
        added = 0
        if not recipients:
            return added
        with self._db.write() as session:
            lesson_id = _lesson_id(session, lesson)
            rows = [
                {
                    "team_id": team_id,
                    "dedupe_key": dedupe_key,
                    "kind": "lesson",
                    "recipient": recipient,
                    "recipient_kind": recipient_kind,
                    "lesson_id": lesson_id,
                    "status": "pending",
                    "due_at": due_at,
                    "tries": 0,
                    "created_at": now,
                    "parts_sent": 0,
                    "payload": payload,
                }
                for dedupe_key, recipient, recipient_kind in recipients
            ]
            for first in range(0, len(rows), _ENQUEUE_CHUNK):
                statement = (
                    insert_for(session)(Delivery)
                    .values(rows[first : first + _ENQUEUE_CHUNK])
                    .on_conflict_do_nothing(index_elements=["team_id", "dedupe_key"])
                    .execution_options(preserve_rowcount=True)
                )
                added += int(session.connection().execute(statement).rowcount)
        return added

    # -- draining -----------------------------------------------------------------------------

    def claim(self, *, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
        """Take up to `limit` due deliveries (or ones whose lease expired) for this process."""
        if not self._db.found(DELIVERIES_DUE, now=now):  # most ticks: no write transaction
            return []
        token = uuid.uuid4().hex
        with self._db.write() as session:
            due = or_(
                and_(col(Delivery.status) == "pending", col(Delivery.due_at) <= now),
                and_(col(Delivery.status) == "sending", col(Delivery.lease_until) < now),
            )
            query = (
                select(col(Delivery.id), col(Delivery.status))
                .where(due)
                .order_by(col(Delivery.due_at), col(Delivery.id))
                .limit(limit)
            )
            if not self._db.is_sqlite:
                query = query.with_for_update(skip_locked=True)
            rows = session.execute(query).all()
            if not rows:
                return []
            resumed = {delivery_id for delivery_id, status in rows if status == "sending"}
            ids = [delivery_id for delivery_id, _ in rows]
            session.execute(
                update(Delivery)
                .where(col(Delivery.id).in_(ids))
                .values(
                    status="sending",
                    claim_token=token,
                    lease_until=now + lease,
                    tries=col(Delivery.tries) + 1,
                )
            )
            details = self._details(session, ids)
            question_positions = self._question_positions(session, ids)
        return [
            _claimed(row, token=token, now=now, resumed=resumed, positions=question_positions)
            for row in details
        ]

    @staticmethod
    def _details(session: Session, ids: list[int]) -> Sequence[_Detail]:
        """The claimed deliveries with what sending them needs: lesson, drip, recipient."""
        return session.execute(
            select(
                Delivery,
                col(Course.slug),
                col(Lesson.slug),
                col(Drip.created_by),
                Learner,
                col(Drip.discuss_channel),
            )
            .join(Lesson, col(Lesson.id) == col(Delivery.lesson_id), isouter=True)
            .join(Course, col(Course.id) == col(Lesson.course_id), isouter=True)
            .join(Drip, col(Drip.id) == col(Delivery.drip_id), isouter=True)
            .join(
                Learner,
                and_(
                    col(Learner.team_id) == col(Delivery.team_id),
                    col(Learner.user_id) == col(Delivery.recipient),
                ),
                isouter=True,
            )
            .where(col(Delivery.id).in_(ids))
            .order_by(col(Delivery.due_at), col(Delivery.id))
        ).all()

    @staticmethod
    def _question_positions(session: Session, ids: list[int]) -> dict[int, int]:
        rows = session.execute(
            select(col(Delivery.id), col(Question.position))
            .join(Question, col(Question.id) == col(Delivery.question_id))
            .where(col(Delivery.id).in_(ids))
        ).all()
        return {delivery_id: position for delivery_id, position in rows}

    def record_part(
        self,
        claimed: Claimed,
        *,
        parts_sent: int,
        channel_id: str,
        ts: str | None,
        sent_at: datetime | None = None,
    ) -> bool:
        """Note a posted message; False if this process no longer owns the delivery.

        With `sent_at` (the last part), the delivery is marked sent in the same write. Once per
        posted message: one statement, one round trip, not made durable at commit (see
        `_owned_update`).
        """
        values = {
            "delivery_id": claimed.id,
            "claim_token": claimed.token,
            "parts_sent": parts_sent,
            "channel_id": channel_id,
            "message_ts": ts if parts_sent == 1 else None,  # None: the stored one stays
            "status": "sent" if sent_at is not None else None,
            "sent_at": sent_at,
        }
        try:
            with self._db.direct(write=True) as connection:
                return connection.first(RECORD_PART, values) is not None
        except self._db.unreachable as error:
            raise StorageUnavailable(describe(error)) from error

    def mark_sent(self, claimed: Claimed, *, now: datetime) -> bool:
        return self._owned_update(
            claimed, {"status": "sent", "sent_at": now, "lease_until": None, "error": None}
        )

    def release(self, claimed: Claimed, *, due_at: datetime, error: str) -> bool:
        """Give the delivery back to be retried at `due_at`."""
        return self._owned_update(
            claimed,
            {
                "status": "pending",
                "due_at": due_at,
                "claim_token": None,
                "lease_until": None,
                "error": error[:500],
            },
        )

    def postpone(self, claimed: Claimed, *, until: datetime) -> bool:
        """Give the delivery back, due at `until`; the claim does not count as a try."""
        return self._owned_update(
            claimed,
            {
                "status": "pending",
                "due_at": until,
                "claim_token": None,
                "lease_until": None,
                "tries": max(0, claimed.tries - 1),
            },
        )

    def hold_unconfirmed(self, claimed: Claimed, *, until: datetime, error: str) -> bool:
        """Give the delivery back to be retried at `until`, as a claim that expired mid-send:
        Slack may have taken its current part, so the next claim looks for it first."""
        return self._owned_update(claimed, {"lease_until": until, "error": error[:500]})

    def mark_failed(
        self, claimed: Claimed, *, error: str, now: datetime, free_key: bool = False
    ) -> bool:
        """Record a delivery that will never be sent. `free_key` lets the same lesson be planned
        again for this enrolment (after the lead fixes what was wrong)."""
        values: dict[str, Any] = {"status": "failed", "error": error[:500], "lease_until": None}
        if free_key:
            values["dedupe_key"] = f"retired:{claimed.id}"
        return self._owned_update(claimed, values)

    def _owned_update(self, claimed: Claimed, values: dict[str, Any]) -> bool:
        # Once per posted message: a plain Core statement. Not made durable at commit: if a crash
        # loses it, the delivery's lease runs out and its next claim finds in Slack what was
        # posted (each message carries the delivery id and part), so nothing is sent twice.
        with self._db.write_connection(durable=False) as connection:
            result = connection.execute(
                update(_DELIVERIES)
                .where(
                    _DELIVERIES.c.id == claimed.id,
                    _DELIVERIES.c.claim_token == claimed.token,
                    _DELIVERIES.c.status == "sending",
                )
                .values(**values)
            )
            return bool(result.rowcount)

    def deliveries(self, *, team_id: str | None = None) -> list[DeliveryState]:
        """All deliveries (for tests, reports and operators)."""
        with self._db.read() as session:
            query = select(Delivery).order_by(col(Delivery.id))
            if team_id is not None:
                query = query.where(col(Delivery.team_id) == team_id)
            return [
                DeliveryState(
                    id=row.id or 0,
                    status=row.status,
                    kind=row.kind,
                    recipient=row.recipient,
                    parts_sent=row.parts_sent,
                    channel_id=row.channel_id,
                    message_ts=row.message_ts,
                    error=row.error,
                    lesson_id=row.lesson_id,
                )
                for row in session.execute(query).scalars().all()
            ]

    def pending_count(self, *, now: datetime) -> int:
        with self._db.read() as session:
            return int(
                session.execute(
                    select(func.count())
                    .select_from(Delivery)
                    .where(
                        or_(
                            and_(col(Delivery.status) == "pending", col(Delivery.due_at) <= now),
                            and_(
                                col(Delivery.status) == "sending", col(Delivery.lease_until) < now
                            ),
                        )
                    )
                ).scalar_one()
            )


_DELIVERIES: Table = Delivery.__table__  # type: ignore[attr-defined]


def _claimed(
    row: _Detail, *, token: str, now: datetime, resumed: set[int], positions: dict[int, int]
) -> Claimed:
    """A claimed delivery as the drain sees it, from a row of `Outbox._details`."""
    delivery, course, lesson, owner, learner, discuss = row
    assert delivery.id is not None
    return Claimed(
        id=delivery.id,
        team_id=delivery.team_id,
        kind=delivery.kind,
        token=token,
        recipient=delivery.recipient,
        recipient_kind=delivery.recipient_kind,
        course=course,
        lesson=lesson,
        question_position=positions.get(delivery.id),
        drip_id=delivery.drip_id,
        drip_owner=owner,
        enrolment_id=delivery.enrolment_id,
        parts_sent=delivery.parts_sent,
        channel_id=delivery.channel_id,
        message_ts=delivery.message_ts,
        payload=delivery.payload,
        tries=delivery.tries,
        resumed=delivery.id in resumed,
        claimed_at=now,
        first_name=(learner.first_name or learner.name) if learner else "",
        dm_channel=learner.dm_channel if learner else None,
        discuss_channel=discuss,
        snoozed_until=learner.snoozed_until if learner else None,
    )


def _lesson_id(session: Session, lesson: tuple[str, str]) -> int:
    """The id of a live lesson by (course, lesson) slugs."""
    return int(
        session.execute(
            select(col(Lesson.id))
            .join(Course, col(Course.id) == col(Lesson.course_id))
            .where(
                col(Course.slug) == lesson[0],
                col(Lesson.slug) == lesson[1],
                col(Lesson.retired).is_(False),
            )
        ).scalar_one()
    )
