"""What a click and every request run: answers, completions and their points, review cards,
the learner (enrolments, lead role, dashboard), milestones, accepted requests and installations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, cast, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import col

from bot.domain.points import Award
from bot.storage.fastlane.driver import (
    Direct,
    DirectConnection,
    Row,
    _bound,
    _by,
    _columns,
    _insert,
)
from bot.storage.models import (
    AcceptedRequest,
    Answer,
    Badge,
    Completion,
    Course,
    Delivery,
    Drip,
    Enrolment,
    Installation,
    Lead,
    Learner,
    Lesson,
    PlayerSetting,
    PointEntry,
    Question,
    ReviewCard,
)
from bot.storage.models.base import table_of

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

# Whether the person was granted the lead role: every lead's command checks it first.
LEAD_GRANTED = Direct(select(col(Lead.id)).where(_by(col(Lead.team_id), col(Lead.user_id))))

# A person's (or a channel's) enrolments, each with its course, soonest due first: what App Home,
# the dashboard's recommendations and streaks, and the self-service commands read
# (EnrolmentRepository.enrolments with a recipient).
ENROLMENTS_OF = Direct(
    select(
        *_columns(Enrolment, "id team_id drip_id recipient recipient_kind status next_position"),
        *_columns(Enrolment, "next_due_at tz days at_time start_on enrolled_by"),
        col(Course.slug).label("course"),
    )
    .join(Drip, col(Drip.id) == col(Enrolment.drip_id))
    .join(Course, col(Course.id) == col(Drip.course_id))
    .where(_by(col(Enrolment.team_id), col(Enrolment.recipient)))
    .order_by(col(Enrolment.next_due_at), col(Enrolment.id))
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


# -- App Home's dashboard (bot.storage.gamify): read each time Home is opened or refreshed -------

# The person's own game settings; no row: the defaults.
PLAYER_SETTING = Direct(
    select(col(PlayerSetting.leaderboard_hidden), col(PlayerSetting.goal)).where(
        _by(col(PlayerSetting.team_id), col(PlayerSetting.user_id))
    )
)

# Graded questions the person answered at the first attempt, with their course (mastery).
FIRST_ANSWERS = Direct(
    select(col(Answer.question_id), col(Course.slug).label("course"), col(Answer.correct))
    .join(Question, col(Question.id) == col(Answer.question_id))
    .join(Lesson, col(Lesson.id) == col(Question.lesson_id))
    .join(Course, col(Course.id) == col(Lesson.course_id))
    .where(
        _by(col(Answer.team_id), col(Answer.user_id)),
        col(Answer.attempt) == 1,
        col(Answer.correct).is_not(None),
    )
)

# Every FSRS card of the person (mastered ones too).
CARDS_OF = Direct(
    select(col(ReviewCard.question_id), col(ReviewCard.card)).where(
        _by(col(ReviewCard.team_id), col(ReviewCard.user_id))
    )
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


def insert_once(
    connection: DirectConnection,
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
        return connection.first(plain, values)
    if connection.dialect != "sqlite":
        return connection.first(with_points, {**values, **points_params(award, course=course)})
    inserted = connection.first(plain, values)
    if inserted is not None:
        points = points_row(values["team_id"], values["user_id"], award, course=course, now=now)
        connection.run(INSERT_POINTS, points)
    return inserted
