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

from sqlalchemy import Table, and_, bindparam, func, or_, select, update
from sqlmodel import Session, col

from bot.storage.db import Database, StorageUnavailable, describe, insert_for
from bot.storage.fastlane import DELIVERIES_DUE, RECORD_PART
from bot.storage.models import Course, Delivery, Drip, Learner, Lesson, Question
from bot.storage.models.base import table_of

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
            connection = session.connection()
            rows = connection.execute(
                _CLAIMABLE if self._db.is_sqlite else _CLAIMABLE_LOCKED,
                {"now": now, "limit": limit},
            ).all()
            if not rows:
                return []
            resumed = {delivery_id for delivery_id, status in rows if status == "sending"}
            ids = [delivery_id for delivery_id, _ in rows]
            connection.execute(_TAKE, {"ids": ids, "token": token, "lease_until": now + lease})
            details = connection.execute(_DETAILS, {"ids": ids}).all()
        return [_claimed(row, token=token, now=now, resumed=resumed) for row in details]

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


_DELIVERIES: Table = table_of(Delivery)
_D = _DELIVERIES.c
_LESSONS: Table = table_of(Lesson)
_COURSES: Table = table_of(Course)
_DRIPS: Table = table_of(Drip)
_LEARNERS: Table = table_of(Learner)
_QUESTIONS: Table = table_of(Question)

# The claim's statements, built once (Core, on the tables): a drain claims every few seconds.
# Due deliveries (or ones whose lease ran out) by `now`, the first `limit` of them.
_CLAIMABLE = (
    select(_D.id, _D.status)
    .where(
        or_(
            and_(_D.status == "pending", _D.due_at <= bindparam("now")),
            and_(_D.status == "sending", _D.lease_until < bindparam("now")),
        )
    )
    .order_by(_D.due_at, _D.id)
    .limit(bindparam("limit"))
)
# PostgreSQL: several processes claim side by side, each skipping what another holds.
_CLAIMABLE_LOCKED = _CLAIMABLE.with_for_update(skip_locked=True)
_TAKE = (
    update(_DELIVERIES)
    .where(_D.id.in_(bindparam("ids", expanding=True)))
    .values(
        status="sending",
        claim_token=bindparam("token", type_=_D.claim_token.type),
        lease_until=bindparam("lease_until", type_=_D.lease_until.type),
        tries=_D.tries + 1,
    )
)
# The claimed deliveries with what sending them needs: lesson, drip, recipient, question.
_DETAILS = (
    select(
        _D.id,
        _D.team_id,
        _D.kind,
        _D.recipient,
        _D.recipient_kind,
        _D.drip_id,
        _D.enrolment_id,
        _D.parts_sent,
        _D.channel_id,
        _D.message_ts,
        _D.payload,
        _D.tries,
        _COURSES.c.slug.label("course"),
        _LESSONS.c.slug.label("lesson"),
        _DRIPS.c.created_by.label("drip_owner"),
        _DRIPS.c.discuss_channel,
        _LEARNERS.c.id.label("learner_id"),
        _LEARNERS.c.first_name,
        _LEARNERS.c.name,
        _LEARNERS.c.dm_channel,
        _LEARNERS.c.snoozed_until,
        _QUESTIONS.c.position.label("question_position"),
    )
    .select_from(_DELIVERIES)
    .outerjoin(_LESSONS, _LESSONS.c.id == _D.lesson_id)
    .outerjoin(_COURSES, _COURSES.c.id == _LESSONS.c.course_id)
    .outerjoin(_DRIPS, _DRIPS.c.id == _D.drip_id)
    .outerjoin(
        _LEARNERS,
        and_(_LEARNERS.c.team_id == _D.team_id, _LEARNERS.c.user_id == _D.recipient),
    )
    .outerjoin(_QUESTIONS, _QUESTIONS.c.id == _D.question_id)
    .where(_D.id.in_(bindparam("ids", expanding=True)))
    .order_by(_D.due_at, _D.id)
)


def _claimed(row: Any, *, token: str, now: datetime, resumed: set[int]) -> Claimed:
    """A claimed delivery as the drain sees it, from a row of `_DETAILS`."""
    learner = row.learner_id is not None
    return Claimed(
        id=row.id,
        team_id=row.team_id,
        kind=row.kind,
        token=token,
        recipient=row.recipient,
        recipient_kind=row.recipient_kind,
        course=row.course,
        lesson=row.lesson,
        question_position=row.question_position,
        drip_id=row.drip_id,
        drip_owner=row.drip_owner,
        enrolment_id=row.enrolment_id,
        parts_sent=row.parts_sent,
        channel_id=row.channel_id,
        message_ts=row.message_ts,
        payload=row.payload,
        tries=row.tries,
        resumed=row.id in resumed,
        claimed_at=now,
        first_name=(row.first_name or row.name) if learner else "",
        dm_channel=row.dm_channel if learner else None,
        discuss_channel=row.discuss_channel,
        snoozed_until=row.snoozed_until if learner else None,
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
