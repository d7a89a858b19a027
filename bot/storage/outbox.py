"""The outbox: planning due lessons into deliveries, and claiming deliveries to send.

Planning works on groups of enrolments that share a schedule and a due instant: the outcome (the
lesson to send, the next slot) is computed once per (drip, zone, due instant) in Python and
recorded as one `plan_slot` row per group, however many learners and zones there are. Applying the
slots writes the per-learner deliveries and next slots in short, bounded transactions, as the
drain needs them. Claiming uses a lease and a
claim token; on PostgreSQL `FOR UPDATE SKIP LOCKED` lets several processes drain side by side.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    String,
    Table,
    and_,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlmodel import Session, col

from bot.domain.planning import Action, decide
from bot.storage.db import Database, insert_for, insert_for_dialect
from bot.storage.drips import finish_if_done
from bot.storage.models import (
    Course,
    Delivery,
    Drip,
    Enrolment,
    Learner,
    Lesson,
    PlanSlot,
    Question,
)
from bot.storage.rows import record
from bot.storage.types import UTCDateTime

# Rows per multi-row INSERT when many deliveries are added at once (SQLite allows 32,766 values).
_ENQUEUE_CHUNK = 1_000

# PostgreSQL: one planner at a time per database (transaction-scoped, so safe behind PgBouncer).
_PLAN_LOCK = 7_014_221_339


@dataclass(frozen=True)
class DueGroup:
    """Enrolments that share a drip, a schedule and a due instant."""

    team_id: str
    drip_id: int
    tz: str
    days: str
    at_time: str
    next_due_at: datetime
    next_position: int
    size: int


@dataclass(frozen=True)
class PlanReport:
    """What one plan step found due and recorded."""

    groups: int = 0  # groups of due enrolments (drip, zone, schedule, due instant, lesson)
    due: int = 0  # enrolments in them, applied or not yet
    recorded: int = 0  # slots new in this step
    skipped: bool = False  # another process was planning


@dataclass(frozen=True)
class PlanApplied:
    """What applying recorded slots wrote: deliveries, moved enrolments, finished ones."""

    enrolments: int = 0
    planned: int = 0
    moved: int = 0
    finished_enrolments: int = 0
    finished_drips: tuple[tuple[str, int], ...] = ()


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


NextSlot = Callable[[DueGroup, datetime], datetime]
"""Given a group and an instant, the group's next slot strictly after it."""


class Outbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- planning -----------------------------------------------------------------------------

    def plan(self, *, now: datetime, grace: timedelta, next_slot: NextSlot) -> PlanReport:
        """Decide, once per group of due enrolments, what happens to it, and record it.

        The work is a fixed handful of statements whatever the number of learners: one grouped
        read, one row written per group. `apply_planned` then writes the per-learner deliveries.
        A slot whose lesson fell due longer ago than `grace` and was never applied (the bot was
        down) is decided again, so its enrolments move to their next slot instead.
        """
        with self._db.write() as session:
            if not self._db.is_sqlite:
                locked = session.execute(
                    text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _PLAN_LOCK}
                ).scalar()
                if not locked:
                    return PlanReport(skipped=True)
            session.execute(
                delete(PlanSlot).where(
                    col(PlanSlot.action).in_((_PLAN, _PLAN_LAST)),
                    col(PlanSlot.next_due_at) < now - grace,
                )
            )
            groups = [
                record(DueGroup, row._mapping)
                for row in session.execute(
                    select(
                        col(Enrolment.team_id),
                        col(Enrolment.drip_id),
                        col(Enrolment.tz),
                        col(Enrolment.days),
                        col(Enrolment.at_time),
                        col(Enrolment.next_due_at),
                        col(Enrolment.next_position),
                        func.count().label("size"),
                    )
                    .where(col(Enrolment.status) == "active", col(Enrolment.next_due_at) <= now)
                    .group_by(
                        col(Enrolment.team_id),
                        col(Enrolment.drip_id),
                        col(Enrolment.tz),
                        col(Enrolment.days),
                        col(Enrolment.at_time),
                        col(Enrolment.next_due_at),
                        col(Enrolment.next_position),
                    )
                    .order_by(col(Enrolment.drip_id), col(Enrolment.tz), col(Enrolment.next_due_at))
                ).all()
            ]
            lessons = self._lessons_of(session, {group.drip_id for group in groups})
            slots = [
                _slot(group, lessons.get(group.drip_id, []), now, grace, next_slot)
                | {"planned_at": now}
                for group in groups
            ]
            recorded = 0
            if slots:  # one statement, many rows: no giant VALUES list to compile and parse
                result = session.connection().execute(
                    insert_for(session)(_SLOTS)
                    .on_conflict_do_nothing(index_elements=_SLOT_KEY)
                    .execution_options(preserve_rowcount=True),
                    slots,
                )
                recorded = int(result.rowcount)
        return PlanReport(
            groups=len(groups), due=sum(group.size for group in groups), recorded=recorded
        )

    def apply_planned(self, *, now: datetime, limit: int) -> PlanApplied:
        """Write the deliveries and next slots of up to `limit` enrolments of recorded slots.

        One short transaction per call, whatever the backlog, so planning a lesson for a
        hundred thousand learners never holds their rows (or SQLite's write lock) for long.
        Each enrolment is taken once: it is chosen by its current due instant and position,
        which this same transaction moves on (`FOR UPDATE SKIP LOCKED` on PostgreSQL lets
        several processes apply side by side), and the delivery's unique key is the last guard.
        """
        with self._db.read() as reading:  # most ticks: nothing recorded, no write
            if reading.execute(select(_SLOTS.c.id).limit(1)).first() is None:
                return PlanApplied()
        counts = {"planned": 0, _PLAN: 0, _PLAN_LAST: 0, _MOVE: 0, _FINISH: 0}
        touched: set[tuple[str, int]] = set()
        remaining = limit
        with self._db.write() as session:
            connection = session.connection()
            slots = connection.execute(
                select(_SLOTS).order_by(_SLOTS.c.next_due_at, _SLOTS.c.id).limit(limit)
            ).all()
            for slot in slots:
                if remaining <= 0:
                    break
                query = (
                    select(_ENROLMENTS.c.id)
                    .where(
                        _ENROLMENTS.c.drip_id == slot.drip_id,
                        _ENROLMENTS.c.tz == slot.tz,
                        _ENROLMENTS.c.next_due_at == slot.next_due_at,
                        _ENROLMENTS.c.next_position == slot.next_position,
                        _ENROLMENTS.c.days == slot.days,
                        _ENROLMENTS.c.at_time == slot.at_time,
                        _ENROLMENTS.c.status == "active",
                    )
                    .order_by(_ENROLMENTS.c.id)
                    .limit(remaining)
                )
                if not self._db.is_sqlite:
                    query = query.with_for_update(skip_locked=True)
                ids = list(connection.execute(query).scalars())
                if len(ids) < remaining:  # nothing of this slot is left after this chunk
                    connection.execute(delete(_SLOTS).where(_SLOTS.c.id == slot.id))
                if not ids:
                    continue
                remaining -= len(ids)
                if slot.lesson_id is not None:
                    counts["planned"] += self._insert_lessons(connection, slot, ids, now)
                counts[slot.action] += self._move_on(connection, slot, ids, now)
                if slot.finish:
                    touched.add((slot.team_id, slot.drip_id))
            finished_drips = self._finish_drips(session, touched, now)
        return PlanApplied(
            enrolments=limit - remaining,
            planned=counts["planned"],
            moved=counts[_MOVE],
            finished_enrolments=counts[_FINISH] + counts[_PLAN_LAST],
            finished_drips=finished_drips,
        )

    @staticmethod
    def _lessons_of(session: Session, drip_ids: set[int]) -> dict[int, list[int]]:
        lessons: dict[int, list[int]] = {}
        if not drip_ids:
            return lessons
        rows = session.execute(
            select(col(Drip.id), col(Lesson.id))
            .join(Lesson, col(Lesson.course_id) == col(Drip.course_id))
            .where(col(Drip.id).in_(drip_ids), col(Lesson.retired).is_(False))
            .order_by(col(Drip.id), col(Lesson.position))
        ).all()
        for drip_id, lesson_id in rows:
            lessons.setdefault(drip_id, []).append(lesson_id)
        return lessons

    @staticmethod
    def _insert_lessons(
        connection: Connection, slot: Row[Any], ids: list[int], now: datetime
    ) -> int:
        """One lesson delivery per chosen enrolment, keyed so that it exists only once."""
        source = select(
            col(Enrolment.team_id),
            literal("lesson:")
            + func.cast(col(Enrolment.id), String())
            + literal(f":{slot.next_position}"),
            literal("lesson"),
            col(Enrolment.id),
            col(Enrolment.recipient),
            col(Enrolment.recipient_kind),
            literal(slot.lesson_id),
            literal("pending"),
            literal(now, UTCDateTime()),
            literal(0),
            literal(now, UTCDateTime()),
            col(Enrolment.drip_id),
            literal(0),
        ).where(col(Enrolment.id).in_(ids))
        columns = [
            "team_id",
            "dedupe_key",
            "kind",
            "enrolment_id",
            "recipient",
            "recipient_kind",
            "lesson_id",
            "status",
            "due_at",
            "tries",
            "created_at",
            "drip_id",
            "parts_sent",
        ]
        statement = (
            insert_for_dialect(connection.dialect.name)(Delivery)
            .from_select(columns, source)
            .on_conflict_do_nothing(index_elements=["team_id", "dedupe_key"])
        )
        # Both drivers count only the rows inserted, not the conflicts, when asked to keep it.
        result = connection.execute(statement.execution_options(preserve_rowcount=True))
        return int(result.rowcount)

    @staticmethod
    def _move_on(connection: Connection, slot: Row[Any], ids: list[int], now: datetime) -> int:
        """Move the chosen enrolments to their next lesson and slot, or finish them."""
        values: dict[str, Any] = {
            "next_position": slot.new_position,
            "next_due_at": slot.new_due_at,
        }
        if slot.finish:
            values |= {"status": "finished", "finished_at": now}
        result = connection.execute(
            update(_ENROLMENTS).where(_ENROLMENTS.c.id.in_(ids)).values(**values)
        )
        return int(result.rowcount)

    @staticmethod
    def _finish_drips(
        session: Session, touched: set[tuple[str, int]], now: datetime
    ) -> tuple[tuple[str, int], ...]:
        return tuple(
            (team_id, drip_id)
            for team_id, drip_id in sorted(touched, key=lambda item: item[1])
            if finish_if_done(session, team_id, drip_id, now=now)
        )

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
            details = session.execute(
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
            question_positions = self._question_positions(session, ids)
        claimed = []
        for delivery, course, lesson, owner, learner, discuss in details:
            assert delivery.id is not None
            claimed.append(
                Claimed(
                    id=delivery.id,
                    team_id=delivery.team_id,
                    kind=delivery.kind,
                    token=token,
                    recipient=delivery.recipient,
                    recipient_kind=delivery.recipient_kind,
                    course=course,
                    lesson=lesson,
                    question_position=question_positions.get(delivery.id),
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
            )
        return claimed

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

        With `sent_at` (the last part), the delivery is marked sent in the same write.
        """
        values: dict[str, Any] = {"parts_sent": parts_sent, "channel_id": channel_id}
        if ts is not None and parts_sent == 1:
            values["message_ts"] = ts
        if sent_at is not None:
            values.update(status="sent", sent_at=sent_at, lease_until=None, error=None)
        return self._owned_update(claimed, values)

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

    def stop_enrolment(self, enrolment_id: int) -> None:
        with self._db.write() as session:
            session.execute(
                update(Enrolment)
                .where(col(Enrolment.id) == enrolment_id)
                .values(status="stopped", next_due_at=None)
            )

    def pause_enrolment(self, enrolment_id: int, *, position: int | None) -> None:
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


# What planning decided for one group of due enrolments.
_FINISH = str(Action.FINISH)
_MOVE = str(Action.MOVE)
_PLAN = str(Action.PLAN)
_PLAN_LAST = str(Action.PLAN_LAST)

# One row per due group, joined to the enrolments by the columns that define the group.
_SLOTS: Table = PlanSlot.__table__  # type: ignore[attr-defined]
_ENROLMENTS: Table = Enrolment.__table__  # type: ignore[attr-defined]
_DELIVERIES: Table = Delivery.__table__  # type: ignore[attr-defined]
_SLOT_KEY = ["team_id", "drip_id", "tz", "days", "at_time", "next_due_at", "next_position"]


def _slot(
    group: DueGroup,
    lessons: list[int],
    now: datetime,
    grace: timedelta,
    next_slot: NextSlot,
) -> dict[str, Any]:
    """The plan slot row recording the domain's decision for `group`."""
    decision = decide(
        position=group.next_position,
        lessons=len(lessons),
        due_at=group.next_due_at,
        now=now,
        grace=grace,
    )
    return {
        "team_id": group.team_id,
        "drip_id": group.drip_id,
        "tz": group.tz,
        "days": group.days,
        "at_time": group.at_time,
        "next_due_at": group.next_due_at,
        "next_position": group.next_position,
        "action": str(decision.action),
        "lesson_id": None if decision.lesson_index is None else lessons[decision.lesson_index],
        "new_position": decision.new_position,
        "new_due_at": None
        if decision.next_after is None
        else next_slot(group, decision.next_after),
        "finish": decision.finish,
    }


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
