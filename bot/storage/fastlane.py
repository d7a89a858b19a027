"""The fast lane: every prebuilt Core statement run on the driver's own connection, and how.

A click runs a handful of tiny statements; SQLAlchemy's execution layer (connection wrappers,
execution contexts, result objects) costs several times what the database does for them. So the
statements a click (or every request) runs are built once here, compiled once per dialect, and run
on the driver's cursor (`Database.direct()` hands out the connection). So are the checks every
delivery tick runs, every few seconds, to learn that most of its steps have nothing to do. Their
rows come back keyed by column label; repositories build records from them with
`bot.storage.rows.record`.
Every statement here has an ORM twin in tests/storage/test_fastlane.py, run on both databases.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Float,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    true,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import NullType
from sqlmodel import col

from bot.domain.points import Award
from bot.storage.models import (
    AcceptedRequest,
    Answer,
    Badge,
    Completion,
    Course,
    Delivery,
    DiscussionThread,
    Drip,
    DripTarget,
    Enrolment,
    Installation,
    Learner,
    Lesson,
    LessonFollowup,
    PlanSlot,
    PointEntry,
    ProcessedEvent,
    Question,
    ReviewCard,
    ReviewQuota,
    SendBucket,
    ThreadReply,
)
from bot.storage.models.base import table_of

# A row of a fast-lane statement: its values by column label.
Row = dict[str, Any]

_CURSOR = "microlearn_direct_cursor"


class Direct:
    """A Core statement compiled once per dialect and run on the driver's cursor.

    The statement is still written once with Core, for both dialects; its parameters and results
    pass through the same type processors SQLAlchemy would apply (UTC instants, JSON, booleans),
    so what it writes and reads is what the rest of the code writes and reads. Statements with
    expanding IN lists are not supported.
    """

    def __init__(self, statement: Any = None, *, build: Callable[[str], Any] | None = None) -> None:
        """`statement`, or `build(dialect name)` for statements that differ by dialect
        (ON CONFLICT)."""
        if (statement is None) == (build is None):
            raise TypeError("Direct takes a statement or a build function")
        self._build = build if build is not None else (lambda _name: statement)
        self._compiled: dict[str, _Compiled] = {}

    def compiled(self, dialect: Any) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = _Compiled(self._build(dialect.name), dialect)
            self._compiled[dialect.name] = found
        return found


class _Compiled:
    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql: str = compiled.string
        self._compiled = compiled
        self._positions: list[str] | None = (
            list(compiled.positiontup) if compiled.positional else None
        )
        self._binds: dict[str, Any] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self._binds[name] = processor
        columns = getattr(statement, "exported_columns", None)
        self.labels: tuple[str, ...] = tuple(columns.keys()) if columns is not None else ()
        if len(set(self.labels)) != len(self.labels):
            raise TypeError(f"a fast-lane statement's column labels repeat: {self.labels}")
        self._results: list[Any] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in (columns or [])
        ]

    def parameters(self, values: dict[str, Any]) -> Any:
        full = self._compiled.construct_params(values)
        for name, processor in self._binds.items():
            if name in full:
                full[name] = processor(full[name])
        if self._positions is not None:
            return tuple(full[name] for name in self._positions)
        return full

    def row(self, row: Any) -> Row:
        return {
            label: value if processor is None or value is None else processor(value)
            for label, processor, value in zip(self.labels, self._results, row, strict=True)
        }


class DirectConnection:
    """Runs `Direct` statements on one pooled driver connection, reusing its cursor."""

    def __init__(self, pooled: Any, dialect: Any) -> None:
        self._pooled = pooled
        self._dialect = dialect

    def all(self, statement: Direct, values: dict[str, Any]) -> list[Row]:
        compiled = statement.compiled(self._dialect)
        rows = self._execute(compiled.sql, compiled.parameters(values))
        if not compiled.labels:  # PostgreSQL's implicit RETURNING id of an INSERT: not asked for
            return []
        return [compiled.row(row) for row in rows]

    def first(self, statement: Direct, values: dict[str, Any]) -> Row | None:
        rows = self.all(statement, values)
        return rows[0] if rows else None

    def run(self, statement: Direct, values: dict[str, Any]) -> None:
        self.all(statement, values)

    def insert_once(
        self,
        statements: tuple[Direct, Direct],
        values: dict[str, Any],
        *,
        award: Award | None,
        course: str,
        now: datetime,
    ) -> Row | None:
        """INSERT … ON CONFLICT DO NOTHING RETURNING id (`statements[0]`): the new row, or None.

        With `award`, its points go with it: on PostgreSQL in the same statement (one round
        trip; `statements[1]`), on SQLite in the same transaction (the caller's `atomic()`;
        statements cost no round trip there). RETURNING, not rowcount: psycopg reports -1 for
        ON CONFLICT DO NOTHING.
        """
        plain, with_points = statements
        if award is None:
            return self.first(plain, values)
        if self._dialect.name != "sqlite":
            return self.first(with_points, {**values, **points_params(award, course=course)})
        inserted = self.first(plain, values)
        if inserted is not None:
            points = points_row(values["team_id"], values["user_id"], award, course=course, now=now)
            self.run(INSERT_POINTS, points)
        return inserted

    def first_not_durable(self, statement: Direct, values: dict[str, Any]) -> Row | None:
        """`first`, committed without waiting for the disk, as `write_connection(durable=False)`
        commits, on the driver's cursor (a fraction of SQLAlchemy's cost for the same four
        statements). SQLite never waits for the disk at commit here (synchronous=NORMAL)."""
        if self._dialect.name == "sqlite":
            return self.first(statement, values)
        self._execute("BEGIN")
        try:
            self._execute("SET LOCAL synchronous_commit = off")
            row = self.first(statement, values)
        except BaseException:
            if self._pooled.dbapi_connection is not None:  # not invalidated (server gone)
                with contextlib.suppress(DBAPIError):
                    self._execute("ROLLBACK")
            raise
        self._execute("COMMIT")
        return row

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """The statements inside commit together or not at all (an answer and its points)."""
        # sqlite3 takes no None for "no parameters"; psycopg takes it.
        none: Any = () if self._dialect.name == "sqlite" else None
        self._execute("BEGIN IMMEDIATE" if self._dialect.name == "sqlite" else "BEGIN", none)
        try:
            yield
        except BaseException:
            if self._pooled.dbapi_connection is not None:  # not invalidated (server gone)
                with contextlib.suppress(DBAPIError):
                    self._execute("ROLLBACK", none)
            raise
        self._execute("COMMIT", none)

    def _execute(self, sql: str, parameters: Any = None) -> list[Any]:
        cursor = self._cursor()
        try:
            cursor.execute(sql, parameters)
            return cursor.fetchall() if _has_rows(cursor) else []
        except self._dialect.loaded_dbapi.Error as error:
            if self._dialect.is_disconnect(error, self._pooled.dbapi_connection, cursor):
                self._pooled.invalidate()  # the server went away: open a new one next time
            # The same exceptions as SQLAlchemy's own path (IntegrityError, OperationalError…).
            raise DBAPIError.instance(
                sql, parameters, error, self._dialect.loaded_dbapi.Error
            ) from error

    def _cursor(self) -> Any:
        """The connection's own cursor, kept with it in the pool: a new psycopg cursor copies
        the connection's type adapters, which costs as much as running a small query."""
        driver = self._pooled.dbapi_connection
        kept = self._pooled.info.get(_CURSOR)
        if kept is None or kept[0] is not driver:
            kept = self._pooled.info[_CURSOR] = (driver, driver.cursor())
        return kept[1]


def _has_rows(cursor: Any) -> bool:
    """Whether the statement just run gave rows to fetch (none for BEGIN, or an INSERT without
    RETURNING). psycopg builds a Column for every column of `description` each time it is read:
    to learn only this, a 10-column read cost 41-43 us of CPU instead of 28-29 us. Its result's
    column count says it too. sqlite3's `description` costs nothing."""
    result: Any = getattr(cursor, "pgresult", _NO_RESULT)
    if result is _NO_RESULT:
        return cursor.description is not None
    return result is not None and result.nfields > 0


_NO_RESULT = object()  # a cursor that is not psycopg's


def _insert(dialect: str) -> Any:
    """The dialect's INSERT, which has `on_conflict_do_nothing/update` on both databases."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


def _bound(table: Any, names: list[str]) -> dict[str, Any]:
    """VALUES for an INSERT: one bound parameter per column, typed as the column."""
    return {name: bindparam(name, type_=table.c[name].type) for name in names}


def _columns(table: Any, names: str) -> list[Any]:
    """The table's columns of these (space-separated) names, in that order."""
    return [col(getattr(table, name)) for name in names.split()]


def _by(*columns: Any) -> Any:
    """WHERE each column equals the parameter of its own name."""
    return and_(*(column == bindparam(column.key) for column in columns))


# -- answers and completions (bot.storage.answers) -------------------------------------------------

# What an answer button points at: labels as QuestionRef's fields, plus the delivery's payload.
QUESTION_REF = Direct(
    select(
        col(Delivery.id).label("delivery_id"),
        *_columns(Delivery, "team_id recipient recipient_kind kind lesson_id payload drip_id"),
        col(Course.slug).label("course"),
        col(Lesson.slug).label("lesson"),
        col(Question.id).label("question_id"),
    )
    .join(Lesson, col(Lesson.id) == col(Delivery.lesson_id))
    .join(Course, col(Course.id) == col(Lesson.course_id))
    .join(
        Question,
        and_(
            col(Question.lesson_id) == col(Lesson.id),
            col(Question.position) == bindparam("position"),
        ),
    )
    .where(col(Delivery.id) == bindparam("delivery_id"))
)

# The answer that was stored first for (team, user, question, attempt): AnswerRecord's fields.
STORED_ANSWER = Direct(
    select(*_columns(Answer, "id user_id question_id attempt choice correct answered_at")).where(
        _by(col(Answer.team_id), col(Answer.user_id), col(Answer.question_id), col(Answer.attempt))
    )
)

ANSWERED_POSITIONS = Direct(
    select(col(Question.position))
    .join(Answer, col(Answer.question_id) == col(Question.id))
    .where(_by(col(Answer.team_id), col(Answer.user_id), col(Answer.delivery_id)))
)


def _insert_answer(dialect: str) -> Any:
    table = table_of(Answer)
    names = ["team_id", "user_id", "question_id", "attempt", "delivery_id", "choice", "correct"]
    names += ["channel_id", "message_ts", "answered_at"]
    return (
        _insert(dialect)(table)
        .values(_bound(table, names))
        .on_conflict_do_nothing(index_elements=["team_id", "user_id", "question_id", "attempt"])
        # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING.
        .returning(table.c.id)
    )


def _insert_completion(dialect: str) -> Any:
    table = table_of(Completion)
    names = ["team_id", "user_id", "lesson_id", "delivery_id", "completed_at"]
    return (
        _insert(dialect)(table)
        .values(_bound(table, names))
        .on_conflict_do_nothing(index_elements=["team_id", "user_id", "lesson_id"])
        .returning(table.c.id)
    )


# Both return the new row's `id`, or no row when it was stored before.
INSERT_ANSWER = Direct(build=_insert_answer)
INSERT_COMPLETION = Direct(build=_insert_completion)


# -- points (bot.storage.gamify's ledger) ---------------------------------------------------------


def _insert_points(dialect: str) -> Any:
    table = table_of(PointEntry)
    names = ["team_id", "user_id", "cause", "event", "points", "course", "awarded_at"]
    return (
        _insert(dialect)(table)
        .values(_bound(table, names))
        .on_conflict_do_nothing(index_elements=["team_id", "user_id", "cause"])
    )


def points_row(
    team_id: str, user_id: str, award: Award, *, course: str, now: datetime
) -> dict[str, Any]:
    """An award's ledger row (INSERT_POINTS's parameters; `gamify.add_points` writes it too)."""
    return {
        "team_id": team_id,
        "user_id": user_id,
        "cause": award.cause[:200],
        "event": award.event.value,
        "points": award.points,
        "course": course[:100],
        "awarded_at": now,
    }


INSERT_POINTS = Direct(build=_insert_points)

_POINT_PARAMS = {"cause": "points_cause", "event": "points_event", "points": "points_points"}
_POINT_PARAMS["course"] = "points_course"


def with_points(cause: Any, *, at: str) -> Any:
    """PostgreSQL: an INSERT … RETURNING id and, when it inserted, its ledger row, in one
    statement (one round trip, atomic): `WITH caused AS (INSERT …), awarded AS (INSERT INTO
    point_entry SELECT … FROM caused) SELECT id FROM caused`. Parameters: the cause's own, plus
    `points_params(...)` (`team_id`, `user_id` and the instant `at` are shared with the cause)."""
    table = table_of(PointEntry)
    caused = cause.cte("caused")
    names = ["team_id", "user_id", "cause", "event", "points", "course", "awarded_at"]
    params = {**{"team_id": "team_id", "user_id": "user_id", "awarded_at": at}, **_POINT_PARAMS}
    row = select(
        *(cast(bindparam(params[name]), table.c[name].type).label(name) for name in names)
    ).select_from(caused)
    awarded = (
        pg_insert(table)
        .from_select(names, row)
        .on_conflict_do_nothing(index_elements=["team_id", "user_id", "cause"])
        .cte("awarded")
    )
    return select(caused.c.id).add_cte(awarded)


def points_params(award: Award, *, course: str) -> dict[str, Any]:
    """The `points_<column>` parameters of a `with_points` statement."""
    return {
        "points_cause": award.cause[:200],
        "points_event": award.event.value,
        "points_points": award.points,
        "points_course": course[:100],
    }


# PostgreSQL only: INSERT_ANSWER / INSERT_COMPLETION and their points in one statement.
INSERT_ANSWER_WITH_POINTS = Direct(
    build=lambda dialect: with_points(_insert_answer(dialect), at="answered_at")
)
INSERT_COMPLETION_WITH_POINTS = Direct(
    build=lambda dialect: with_points(_insert_completion(dialect), at="completed_at")
)


# -- review cards (bot.storage.cards) -------------------------------------------------------------

# CardState's fields.
CARD = Direct(
    select(col(ReviewCard.card), col(ReviewCard.reviews), col(ReviewCard.status)).where(
        _by(col(ReviewCard.team_id), col(ReviewCard.user_id), col(ReviewCard.question_id))
    )
)


def _upsert_card(dialect: str) -> Any:
    table = table_of(ReviewCard)
    names = ["team_id", "user_id", "question_id", "card", "due_at", "reviews", "status"]
    statement = _insert(dialect)(table).values(_bound(table, [*names, "updated_at"]))
    return statement.on_conflict_do_update(
        index_elements=["team_id", "user_id", "question_id"],
        set_={
            name: statement.excluded[name] for name in ("card", "due_at", "status", "updated_at")
        },
    )


UPSERT_CARD = Direct(build=_upsert_card)


# -- learners (bot.storage.learners) ---------------------------------------------------------------

# LearnerRecord's fields; runs after every graded answer.
LEARNER = Direct(
    select(
        *_columns(Learner, "team_id user_id name first_name tz tz_checked_at is_admin"),
        *_columns(Learner, "deactivated snoozed_until dm_channel pref_days pref_at"),
    ).where(_by(col(Learner.team_id), col(Learner.user_id)))
)

# The learner's zone and their DM enrolments' schedules, soonest due first (no enrolment: one row
# of NULLs beside the zone; no learner: no row).
REVIEW_SCHEDULE = Direct(
    select(col(Learner.tz).label("learner_tz"), *_columns(Enrolment, "status days at_time tz"))
    .select_from(Learner)
    .outerjoin(
        Enrolment,
        and_(
            col(Enrolment.team_id) == col(Learner.team_id),
            col(Enrolment.recipient) == col(Learner.user_id),
            col(Enrolment.recipient_kind) == "dm",
        ),
    )
    .where(_by(col(Learner.team_id), col(Learner.user_id)))
    .order_by(col(Enrolment.next_due_at), col(Enrolment.id))
)


# -- milestones (bot.storage.gamify): read after every lesson done and every review right -------

# (course, lesson, completed at) of every lesson the learner finished.
COMPLETIONS = Direct(
    select(
        col(Course.slug).label("course"),
        col(Lesson.slug).label("lesson"),
        col(Completion.completed_at),
    )
    .join(Lesson, col(Lesson.id) == col(Completion.lesson_id))
    .join(Course, col(Course.id) == col(Lesson.course_id))
    .where(_by(col(Completion.team_id), col(Completion.user_id)))
)

# The keys of the learner's badges.
BADGE_KEYS = Direct(select(col(Badge.key)).where(_by(col(Badge.team_id), col(Badge.user_id))))

# How many of the learner's review answers (attempt 2 and later) were right; no row for none.
REVIEWS_RIGHT = Direct(
    select(func.count().label("reviews_right"))
    .select_from(Answer)
    .where(
        _by(col(Answer.team_id), col(Answer.user_id)),
        col(Answer.attempt) > 1,
        col(Answer.correct).is_(True),
    )
    .group_by(col(Answer.team_id), col(Answer.user_id))
)


# -- every request's path (bot.storage.requests, bot.storage.installations) ------------------------


def _remember_request(dialect: str) -> Any:
    table = table_of(AcceptedRequest)
    return (
        _insert(dialect)(table)
        .values(_bound(table, ["signature", "expires_at"]))
        .on_conflict_do_nothing(index_elements=["signature"])
        .returning(table.c.id)
    )


# The new row's `id`, or no row for a signature seen before (a replay).
REMEMBER_REQUEST = Direct(build=_remember_request)
FORGET_REQUEST = Direct(
    delete(AcceptedRequest).where(col(AcceptedRequest.signature) == bindparam("signature"))
)

# InstallationRecord's fields.
INSTALLATION = Direct(
    select(
        *_columns(Installation, "team_id bot_token bot_id bot_user_id team_name enterprise_id"),
        *_columns(Installation, "app_id bot_scopes installer_user_id installed_at"),
    ).where(_by(col(Installation.team_id)))
)


# -- sending (bot.storage.outbox, bot.storage.send_rate) -----------------------------------------
# Once per post, each in one round trip of its own (autocommit). On PostgreSQL its commit does not
# wait for the disk, as `write_connection(durable=False)` commits, but without the three round
# trips of BEGIN, SET LOCAL and COMMIT: set_config(…, true) sets synchronous_commit for the
# statement's own transaction. SQLite never waits for the disk at commit here (synchronous=NORMAL).


def _not_durable(dialect: str) -> Any:
    """A condition that holds, and on PostgreSQL commits the statement without a disk wait."""
    if dialect == "sqlite":
        return true()
    return text("set_config('synchronous_commit', 'off', true) = 'off'")


def _record_part(dialect: str) -> Any:
    table = table_of(Delivery)
    c = table.c
    sent = bindparam("status", type_=c.status.type)  # "sent" with the last part, else None
    return (
        update(table)
        .where(
            c.id == bindparam("delivery_id"),
            c.claim_token == bindparam("claim_token"),
            c.status == literal_column("'sending'"),
            _not_durable(dialect),
        )
        .values(
            parts_sent=bindparam("parts_sent", type_=c.parts_sent.type),
            channel_id=bindparam("channel_id", type_=c.channel_id.type),
            message_ts=func.coalesce(
                bindparam("message_ts", type_=c.message_ts.type), c.message_ts
            ),
            status=func.coalesce(sent, c.status),
            sent_at=func.coalesce(bindparam("sent_at", type_=c.sent_at.type), c.sent_at),
            lease_until=case((sent.is_(None), c.lease_until), else_=null()),
            error=case((sent.is_(None), c.error), else_=null()),
        )
        .returning(c.id)
    )


def _take_tokens(dialect: str) -> Any:
    table = table_of(SendBucket)
    c = table.c
    greatest, least = (func.max, func.min) if dialect == "sqlite" else (func.greatest, func.least)
    now = bindparam("now", type_=Float())
    rate, burst = bindparam("rate", type_=Float()), bindparam("burst", type_=Float())
    # The balance at max(updated, now): what it was, plus what the time since earned.
    returned = (c.tokens, c.updated, c.paused_until)
    refilled = least(burst, c.tokens + greatest(literal_column("0.0"), now - c.updated) * rate)
    return (
        update(table)
        .where(c.team_id == bindparam("team_id"), _not_durable(dialect))
        .values(
            tokens=refilled - bindparam("want", type_=Float()), updated=greatest(c.updated, now)
        )
        # As the driver gives them (floats): SQLAlchemy's Float processor wants the column's type.
        .returning(*(type_coerce(column, NullType()).label(column.key) for column in returned))
    )


# A delivery's posted part (with the last, the delivery is sent): its id, or no row when this
# claim no longer owns the delivery. `message_ts` None keeps the stored one.
RECORD_PART = Direct(build=_record_part)
# The end of a workspace's latest 429 pause, as any process stored it; no row before its first post.
PAUSED_UNTIL = Direct(
    select(type_coerce(col(SendBucket.paused_until), NullType()).label("paused_until")).where(
        _by(col(SendBucket.team_id))
    )
)
# `want` tokens taken from a workspace's shared bucket: the balance after, its clock and its
# pause; no row when the workspace has no bucket yet.
TAKE_TOKENS = Direct(build=_take_tokens)


# -- the tick: anything to do? (bot.storage.*) --------------------------------------------------
# A serving process ticks every few seconds, and most ticks find nothing due. Each step of the
# tick first asks here, in one cheap round trip, whether its own read could find anything; only
# then does it run (its reads, its write transaction, SQLite's write lock). Each condition is the
# step's own WHERE clause, or one implied by it: a step skipped would have found nothing.
# One row `{"found": 1}` when there is something, none when not.


def _found(*conditions: Any) -> Any:
    """SELECT 1 AS found WHERE <any of the conditions>."""
    return select(literal_column("1").label("found")).where(or_(*conditions))


def _one_of(column: Any, *values: str) -> Any:
    """`column IN (…)` with one bound parameter per value (an expanding IN is not supported)."""
    return column.in_([literal(value, column.type) for value in values])


# Event ids received before `before` (DiscussionRepository.forget_events).
EVENTS_TO_FORGET = Direct(
    _found(exists().where(col(ProcessedEvent.received_at) < bindparam("before")))
)

# People whose time zone is unknown or older than `stale_before` (learners_to_refresh's reads).
PROFILES_TO_REFRESH = Direct(
    _found(
        select(col(Enrolment.id))
        .outerjoin(
            Learner,
            and_(
                col(Learner.team_id) == col(Enrolment.team_id),
                col(Learner.user_id) == col(Enrolment.recipient),
            ),
        )
        .where(
            col(Enrolment.recipient_kind) == "dm",
            _one_of(col(Enrolment.status), "waiting", "active"),
            col(Learner.tz_checked_at).is_(None)
            | (col(Learner.tz_checked_at) < bindparam("stale_before"))
            | col(Learner.id).is_(None),
        )
        .exists(),
        exists().where(col(Learner.tz_checked_at).is_(None), col(Learner.deactivated).is_(False)),
    )
)

# Review cards due by `now` of a learner neither snoozed nor at today's cap
# (ReviewLoadRepository.learners_due).
REVIEWS_DUE = Direct(
    _found(
        exists().where(
            _one_of(col(ReviewCard.status), "active", "sent"),
            col(ReviewCard.due_at) <= bindparam("now"),
            ~exists().where(
                col(Learner.team_id) == col(ReviewCard.team_id),
                col(Learner.user_id) == col(ReviewCard.user_id),
                col(Learner.snoozed_until) > bindparam("now"),
            ),
            ~exists().where(
                col(ReviewQuota.team_id) == col(ReviewCard.team_id),
                col(ReviewQuota.user_id) == col(ReviewCard.user_id),
                col(ReviewQuota.resume_at) > bindparam("now"),
            ),
        )
    )
)

# Lesson threads posted, never nudged, created by `created_before`, with no current reply
# (DiscussionRepository.quiet_threads).
QUIET_THREADS = Direct(
    _found(
        exists().where(
            col(DiscussionThread.thread_ts).is_not(None),
            col(DiscussionThread.nudged_at).is_(None),
            col(DiscussionThread.created_at) <= bindparam("created_before"),
            col(DiscussionThread.id).not_in(
                select(col(ThreadReply.thread_id))
                .where(col(ThreadReply.deleted).is_(False), col(ThreadReply.thread_id).is_not(None))
                .distinct()
            ),
        )
    )
)

# Open follow-ups whose next step is due by `now` (FollowupRepository.due).
FOLLOWUPS_DUE = Direct(
    _found(
        exists().where(
            col(LessonFollowup.outcome) == "open", col(LessonFollowup.next_at) <= bindparam("now")
        )
    )
)

# Active enrolments due by `now`, or lesson slots recorded before `stale_before` and never applied
# (PlanRepository.plan: what it reads and what it deletes).
PLAN_DUE = Direct(
    _found(
        exists().where(
            col(Enrolment.status) == "active", col(Enrolment.next_due_at) <= bindparam("now")
        ),
        exists().where(
            _one_of(col(PlanSlot.action), "plan", "plan_last"),
            col(PlanSlot.next_due_at) < bindparam("stale_before"),
        ),
    )
)

# One row per recorded plan slot, up to `limit` (PlanRepository.apply_planned asks for one).
PLAN_SLOTS = Direct(
    select(literal_column("1").label("found")).select_from(PlanSlot).limit(bindparam("limit"))
)

# Deliveries due by `now`, or whose lease ran out by then (Outbox.claim).
DELIVERIES_DUE = Direct(
    _found(
        exists().where(
            and_(col(Delivery.status) == "pending", col(Delivery.due_at) <= bindparam("now"))
            | and_(col(Delivery.status) == "sending", col(Delivery.lease_until) < bindparam("now"))
        )
    )
)

# Every drip run for others and its targets: active, paused, or finished since `finished_since`
# (InsightRepository.drip_owners, read by every tick's digest step).
DRIP_OWNERS = Direct(
    select(
        col(Drip.team_id),
        col(Drip.created_by),
        col(DripTarget.kind),
        col(DripTarget.ref),
        col(Drip.created_at),
    )
    .join(
        DripTarget,
        and_(col(DripTarget.drip_id) == col(Drip.id), col(DripTarget.team_id) == col(Drip.team_id)),
    )
    .where(
        _one_of(col(Drip.status), "active", "paused")
        | and_(col(Drip.status) == "finished", col(Drip.finished_at) >= bindparam("finished_since"))
    )
    .order_by(col(Drip.id), col(DripTarget.id))
)


def statements() -> dict[str, Direct]:
    """Every prebuilt statement, by name (the test runs each beside its ORM twin)."""
    return {name: value for name, value in globals().items() if isinstance(value, Direct)}
