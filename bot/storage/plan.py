"""The plan step: groups of due enrolments, what the domain decides for each, and applying it.

Planning works on groups of enrolments that share a schedule and a due instant: the outcome (the
lesson to send, the next slot) is decided once per (drip, zone, due instant) by
`bot.domain.planning.decide` and recorded as one `plan_slot` row per group, however many learners
and zones there are. Applying the slots writes the per-learner deliveries and next slots in short,
bounded transactions, as the drain needs them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Row,
    String,
    Table,
    bindparam,
    delete,
    func,
    literal,
    select,
    text,
    update,
)
from sqlmodel import Session, col

from bot.domain.planning import Action, decide
from bot.storage.db import Database, insert_for, insert_for_dialect
from bot.storage.enrolments import EnrolmentRepository
from bot.storage.fastlane import PLAN_DUE, PLAN_SLOTS
from bot.storage.models import Delivery, Drip, Enrolment, Lesson, PlanSlot
from bot.storage.models.base import table_of
from bot.storage.rows import record
from bot.storage.types import UTCDateTime

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


NextSlot = Callable[[DueGroup, datetime], datetime]
"""Given a group and an instant, the group's next slot strictly after it."""


class PlanRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._enrolments = EnrolmentRepository(db)

    def plan(self, *, now: datetime, grace: timedelta, next_slot: NextSlot) -> PlanReport:
        """Decide, once per group of due enrolments, what happens to it, and record it.

        The work is a fixed handful of statements whatever the number of learners: one grouped
        read, one row written per group. `apply_planned` then writes the per-learner deliveries.
        A slot whose lesson fell due longer ago than `grace` and was never applied (the bot was
        down) is decided again, so its enrolments move to their next slot instead.
        Most ticks find nothing due and nothing to forget: one cheap read says so, and no write
        transaction (nor SQLite's write lock, nor PostgreSQL's planning lock) is taken.
        """
        if not self._db.found(PLAN_DUE, now=now, stale_before=now - grace):
            return PlanReport()
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
            groups = self._due_groups(session, now)
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
        if not self._db.found(PLAN_SLOTS, limit=1):  # most ticks: nothing recorded, no write
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
                ids = self._take(connection, slot, remaining)
                if not ids:
                    continue
                remaining -= len(ids)
                if slot.lesson_id is not None:
                    counts["planned"] += self._insert_lessons(connection, slot, ids, now)
                counts[slot.action] += self._move_on(connection, slot, ids, now)
                if slot.finish:
                    touched.add((slot.team_id, slot.drip_id))
            finished_drips = tuple(
                (team_id, drip_id)
                for team_id, drip_id in sorted(touched, key=lambda item: item[1])
                if self._enrolments.finish_drip(team_id, drip_id, now=now, tx=session)
            )
        return PlanApplied(
            enrolments=limit - remaining,
            planned=counts["planned"],
            moved=counts[_MOVE],
            finished_enrolments=counts[_FINISH] + counts[_PLAN_LAST],
            finished_drips=finished_drips,
        )

    def _take(self, connection: Connection, slot: Row[Any], limit: int) -> list[int]:
        """Up to `limit` enrolments still in `slot`; the slot goes once none is left after them."""
        query = _TAKE if self._db.is_sqlite else _TAKE_LOCKED
        values = {name: getattr(slot, name) for name in _SLOT_KEY if name != "team_id"}
        ids = list(connection.execute(query, {**values, "limit": limit}).scalars())
        if len(ids) < limit:  # nothing of this slot is left after this chunk
            connection.execute(_DELETE_SLOT, {"slot_id": slot.id})
        return ids

    @staticmethod
    def _due_groups(session: Session, now: datetime) -> list[DueGroup]:
        """Active enrolments due by `now`, grouped by drip, schedule, due instant and position."""
        rows = session.connection().execute(_DUE_GROUPS, {"now": now})
        return [record(DueGroup, row._mapping) for row in rows]

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
        statement = _insert_lessons_statement(connection.dialect.name)
        # Both drivers count only the rows inserted, not the conflicts, when asked to keep it.
        result = connection.execute(
            statement,
            {
                "ids": ids,
                "suffix": f":{slot.next_position}",
                "lesson_id": slot.lesson_id,
                "now": now,
            },
        )
        return int(result.rowcount)

    @staticmethod
    def _move_on(connection: Connection, slot: Row[Any], ids: list[int], now: datetime) -> int:
        """Move the chosen enrolments to their next lesson and slot, or finish them."""
        values: dict[str, Any] = {
            "ids": ids,
            "new_position": slot.new_position,
            "new_due_at": slot.new_due_at,
        }
        if slot.finish:
            values["now"] = now
        result = connection.execute(_FINISH_ENROLMENTS if slot.finish else _MOVE_ENROLMENTS, values)
        return int(result.rowcount)


# What planning decided for one group of due enrolments.
_FINISH = str(Action.FINISH)
_MOVE = str(Action.MOVE)
_PLAN = str(Action.PLAN)
_PLAN_LAST = str(Action.PLAN_LAST)

# One row per due group, joined to the enrolments by the columns that define the group.
_SLOTS: Table = table_of(PlanSlot)
_ENROLMENTS: Table = table_of(Enrolment)
_DELIVERIES: Table = table_of(Delivery)
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


# The plan step's statements, built once (Core, on the tables): every tick with something due
# runs them.
_E = _ENROLMENTS.c
_GROUP = (_E.team_id, _E.drip_id, _E.tz, _E.days, _E.at_time, _E.next_due_at, _E.next_position)
# Active enrolments due by `now`, grouped by drip, schedule, due instant and position.
_DUE_GROUPS = (
    select(*_GROUP, func.count().label("size"))
    .where(_E.status == "active", _E.next_due_at <= bindparam("now"))
    .group_by(*_GROUP)
    .order_by(_E.drip_id, _E.tz, _E.next_due_at)
)
# Up to `limit` active enrolments still in a slot (its columns by name), in id order.
_TAKE = (
    select(_E.id)
    .where(
        _E.drip_id == bindparam("drip_id"),
        _E.tz == bindparam("tz"),
        _E.next_due_at == bindparam("next_due_at"),
        _E.next_position == bindparam("next_position"),
        _E.days == bindparam("days"),
        _E.at_time == bindparam("at_time"),
        _E.status == "active",
    )
    .order_by(_E.id)
    .limit(bindparam("limit"))
)
_TAKE_LOCKED = _TAKE.with_for_update(skip_locked=True)  # PostgreSQL: appliers side by side
_DELETE_SLOT = delete(_SLOTS).where(_SLOTS.c.id == bindparam("slot_id"))
_MOVE_ENROLMENTS = (
    update(_ENROLMENTS)
    .where(_E.id.in_(bindparam("ids", expanding=True)))
    .values(
        next_position=bindparam("new_position", type_=_E.next_position.type),
        next_due_at=bindparam("new_due_at", type_=_E.next_due_at.type),
    )
)
_FINISH_ENROLMENTS = _MOVE_ENROLMENTS.values(
    status="finished", finished_at=bindparam("now", type_=_E.finished_at.type)
)
_INSERT_LESSONS: dict[str, Any] = {}
_LESSON_COLUMNS = [
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


def _insert_lessons_statement(dialect: str) -> Any:
    """One pending lesson delivery (`lesson_id`, due `now`) per enrolment of `ids`, keyed
    `lesson:<enrolment>:<position>` (`suffix` is `:<position>`) so that it exists only once."""
    statement = _INSERT_LESSONS.get(dialect)
    if statement is None:
        now = bindparam("now", type_=UTCDateTime())
        source = select(
            _E.team_id,
            literal("lesson:") + func.cast(_E.id, String()) + bindparam("suffix", type_=String()),
            literal("lesson"),
            _E.id,
            _E.recipient,
            _E.recipient_kind,
            bindparam("lesson_id", type_=Integer()),
            literal("pending"),
            now,
            literal(0),
            now,
            _E.drip_id,
            literal(0),
        ).where(_E.id.in_(bindparam("ids", expanding=True)))
        statement = _INSERT_LESSONS[dialect] = (
            insert_for_dialect(dialect)(_DELIVERIES)
            .from_select(_LESSON_COLUMNS, source)
            .on_conflict_do_nothing(index_elements=["team_id", "dedupe_key"])
            # Both drivers count only the rows inserted, not the conflicts, when asked to.
            .execution_options(preserve_rowcount=True)
        )
    return statement
