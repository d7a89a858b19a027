"""Answers, completions and review cards; and the reads behind progress and reports."""

from __future__ import annotations

from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlmodel import col

from bot.domain.points import Award
from bot.storage.db import Database, Direct, insert_for_dialect
from bot.storage.gamify import INSERT_POINTS, points_params, points_row, with_points
from bot.storage.models import (
    Answer,
    Completion,
    Course,
    Delivery,
    Learner,
    Lesson,
    Question,
    ReviewCard,
)
from bot.storage.types import MAX_ROW_ID


@dataclass(frozen=True)
class QuestionRef:
    """What an answer button points at: the delivery it came in and the question."""

    delivery_id: int
    team_id: str
    recipient: str
    recipient_kind: str
    kind: str
    course: str
    lesson: str
    lesson_id: int
    question_id: int
    position: int
    attempt: int
    drip_id: int | None = None
    item: int | None = None  # the question's number in a day's Review message


@dataclass(frozen=True)
class DeliveredLesson:
    """What a lesson delivery's Done button points at."""

    course: str
    lesson: str
    lesson_id: int
    team_id: str
    recipient: str
    recipient_kind: str
    drip_id: int | None


@dataclass(frozen=True)
class AnswerRecord:
    id: int
    user_id: str
    question_id: int
    attempt: int
    choice: str
    correct: bool | None
    answered_at: datetime


@dataclass(frozen=True)
class CardState:
    card: dict[str, Any]
    reviews: int
    status: str


@dataclass(frozen=True)
class CardRecord:
    id: int
    team_id: str
    user_id: str
    question_id: int
    card: dict[str, Any]
    due_at: datetime
    reviews: int
    status: str
    course: str
    lesson: str
    position: int


@dataclass(frozen=True)
class AnswerRow:
    """One stored answer with who, where and what, for reports."""

    user_id: str
    learner_name: str
    course: str
    lesson: str
    position: int
    kind: str
    choice: str
    correct: bool | None
    attempt: int
    answered_at: datetime


# What a (delivery, position) points at never changes once the delivery exists, so it is looked
# up once per process; the cache is dropped whole when it grows past this many entries.
_REF_CACHE_SIZE = 20_000


class AnswerRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._refs: dict[tuple[int, int], QuestionRef] = {}

    def question(self, delivery_id: int, position: int) -> QuestionRef | None:
        """What the answer button of a delivery's question `position` points at."""
        key = (delivery_id, position)
        cached = self._refs.get(key)
        if cached is None:
            cached = self._question(delivery_id, position)
            if cached is not None:
                if len(self._refs) >= _REF_CACHE_SIZE:
                    self._refs.clear()
                self._refs[key] = cached
        return cached

    def _question(self, delivery_id: int, position: int) -> QuestionRef | None:
        if not (0 < delivery_id <= MAX_ROW_ID and 0 < position <= MAX_ROW_ID):
            return None  # no such row, and past what the id columns hold
        with self._db.direct() as connection:
            row = connection.first(
                _QUESTION_REF, {"delivery_id": delivery_id, "position": position}
            )
        if row is None:
            return self._review_item(delivery_id, position)
        found, team, recipient, recipient_kind, kind, lesson_id, payload, drip, course, lesson = (
            row[:10]
        )
        return QuestionRef(
            delivery_id=found,
            team_id=team,
            recipient=recipient,
            recipient_kind=recipient_kind,
            kind=kind,
            course=course,
            lesson=lesson,
            lesson_id=lesson_id,
            question_id=row[10],
            position=position,
            attempt=int((payload or {}).get("attempt", 1)),
            drip_id=drip,
        )

    def _review_item(self, delivery_id: int, item: int) -> QuestionRef | None:
        """Question `item` of a day's Review message (its delivery lists the questions)."""
        with self._db.read() as session:
            delivery = session.get(Delivery, delivery_id)
            items = (delivery.payload or {}).get("items") if delivery is not None else None
            if delivery is None or delivery.kind != "review" or not isinstance(items, list):
                return None
            if not 0 < item <= len(items) or not isinstance(items[item - 1], dict):
                return None
            chosen = items[item - 1]
            row = session.execute(
                select(col(Course.slug), col(Lesson.slug), col(Lesson.id), col(Question.position))
                .join(Lesson, col(Lesson.id) == col(Question.lesson_id))
                .join(Course, col(Course.id) == col(Lesson.course_id))
                .where(col(Question.id) == int(chosen.get("question", 0)))
            ).first()
        if row is None:
            return None
        course, lesson, lesson_id, position = row
        return QuestionRef(
            delivery_id=delivery_id,
            team_id=delivery.team_id,
            recipient=delivery.recipient,
            recipient_kind=delivery.recipient_kind,
            kind=delivery.kind,
            course=course,
            lesson=lesson,
            lesson_id=lesson_id,
            question_id=int(chosen["question"]),
            position=position,
            attempt=int(chosen.get("attempt", 1)),
            drip_id=delivery.drip_id,
            item=item,
        )

    def lesson_of(self, delivery_id: int) -> DeliveredLesson | None:
        """The lesson a delivery carried, and to whom and where it went."""
        if not 0 < delivery_id <= MAX_ROW_ID:
            return None
        with self._db.read() as session:
            row = session.execute(
                select(
                    col(Course.slug),
                    col(Lesson.slug),
                    col(Lesson.id),
                    col(Delivery.team_id),
                    col(Delivery.recipient),
                    col(Delivery.recipient_kind),
                    col(Delivery.drip_id),
                )
                .join(Lesson, col(Lesson.id) == col(Delivery.lesson_id))
                .join(Course, col(Course.id) == col(Lesson.course_id))
                .where(col(Delivery.id) == delivery_id)
            ).first()
        return None if row is None else DeliveredLesson(*row)

    def record(
        self,
        *,
        team_id: str,
        user_id: str,
        ref: QuestionRef,
        choice: str,
        correct: bool | None,
        channel_id: str | None,
        message_ts: str | None,
        now: datetime,
        award: Award | None = None,
    ) -> tuple[AnswerRecord, bool]:
        """Store the first answer of a learner to a question in this attempt.

        Returns the stored answer and whether it is this one; a repeat click, a click on
        another option or Slack retrying the request leaves the first answer as it was.
        `award`: the points it earns, written in the same transaction as the answer.
        """
        key = {
            "team_id": team_id,
            "user_id": user_id,
            "question_id": ref.question_id,
            "attempt": ref.attempt,
        }
        values = {
            **key,
            "delivery_id": ref.delivery_id,
            "choice": choice[:3000],
            "correct": correct,
            "channel_id": channel_id,
            "message_ts": message_ts,
            "answered_at": now,
        }
        # The points go with the answer: on PostgreSQL in the same statement (one round trip),
        # on SQLite in the same transaction (statements cost no round trip there).
        together = award is not None and not self._db.is_sqlite
        with (
            self._db.direct(write=True, urgent=True) as connection,  # before the ack
            connection.atomic() if award is not None and not together else nullcontext(),
        ):
            # RETURNING, not rowcount: psycopg reports -1 for INSERT … ON CONFLICT DO NOTHING.
            if together:
                assert award is not None
                inserted = connection.first(
                    _INSERT_ANSWER_WITH_POINTS,
                    {**values, **points_params(award, course=ref.course)},
                )
            else:
                inserted = connection.first(_INSERT_ANSWER, values)
            if inserted is not None:
                if award is not None and not together:
                    connection.run(
                        INSERT_POINTS,
                        points_row(team_id, user_id, award, course=ref.course, now=now),
                    )
                stored = AnswerRecord(
                    inserted[0], user_id, ref.question_id, ref.attempt, choice[:3000], correct, now
                )
                return stored, True
            row = connection.first(_STORED_ANSWER, key)
        assert row is not None  # the conflicting answer, which is never deleted
        return AnswerRecord(*row), False

    def choices(self, question_id: int, *, attempt: int = 1) -> Counter[str]:
        """How often each choice was given (poll results)."""
        with self._db.read() as session:
            rows = session.execute(
                select(col(Answer.choice), func.count())
                .where(col(Answer.question_id) == question_id, col(Answer.attempt) == attempt)
                .group_by(col(Answer.choice))
            ).all()
        return Counter({choice: count for choice, count in rows})

    def answered_on_message(self, channel_id: str, message_ts: str) -> int:
        """How many people answered the question posted as this message."""
        with self._db.read() as session:
            return int(
                session.execute(
                    select(func.count())
                    .select_from(Answer)
                    .where(
                        col(Answer.channel_id) == channel_id, col(Answer.message_ts) == message_ts
                    )
                ).scalar_one()
            )

    def answered_positions(self, team_id: str, user_id: str, delivery_id: int) -> set[int]:
        with self._db.direct() as connection:
            rows = connection.all(
                _ANSWERED_POSITIONS,
                {"team_id": team_id, "user_id": user_id, "delivery_id": delivery_id},
            )
        return {position for (position,) in rows}

    def complete(
        self,
        *,
        team_id: str,
        user_id: str,
        lesson_id: int,
        delivery_id: int | None,
        now: datetime,
        award: Award | None = None,
        course: str = "",
    ) -> bool:
        """Mark a lesson done for a learner; False if it was done before.

        `award`: the points the first completion earns, in the same transaction.
        """
        values = {
            "team_id": team_id,
            "user_id": user_id,
            "lesson_id": lesson_id,
            "delivery_id": delivery_id,
            "completed_at": now,
        }
        together = award is not None and not self._db.is_sqlite  # as in `record`
        with (
            self._db.direct(write=True) as connection,
            connection.atomic() if award is not None and not together else nullcontext(),
        ):
            if together:
                assert award is not None
                inserted = connection.first(
                    _INSERT_COMPLETION_WITH_POINTS,
                    {**values, **points_params(award, course=course)},
                )
            else:
                inserted = connection.first(_INSERT_COMPLETION, values)
            if inserted is not None and award is not None and not together:
                connection.run(
                    INSERT_POINTS, points_row(team_id, user_id, award, course=course, now=now)
                )
        return inserted is not None

    # -- review cards ---------------------------------------------------------------------------

    def card(self, team_id: str, user_id: str, question_id: int) -> CardState | None:
        """The learner's card for a question, without the course it belongs to (one table)."""
        with self._db.direct() as connection:
            row = connection.first(
                _CARD, {"team_id": team_id, "user_id": user_id, "question_id": question_id}
            )
        return None if row is None else CardState(dict(row[0]), row[1], row[2])

    def due_cards(self, *, now: datetime, limit: int) -> list[CardRecord]:
        """Cards due by `now`, but none of a learner who is snoozed (theirs wait for the end)
        or deactivated in Slack (theirs wait for good)."""
        snoozed = (
            select(col(Learner.id))
            .where(
                col(Learner.team_id) == col(ReviewCard.team_id),
                col(Learner.user_id) == col(ReviewCard.user_id),
                or_(col(Learner.snoozed_until) > now, col(Learner.deactivated).is_(True)),
            )
            .exists()
        )
        return self._cards(
            col(ReviewCard.status).in_(("active", "sent")),
            col(ReviewCard.due_at) <= now,
            ~snoozed,
            limit=limit,
        )

    def cards_of(self, team_id: str, user_id: str) -> list[CardRecord]:
        """Cards still being reviewed: scheduled (active) or sent and awaiting an answer."""
        return self._cards(
            col(ReviewCard.team_id) == team_id,
            col(ReviewCard.user_id) == user_id,
            col(ReviewCard.status).in_(("active", "sent")),
        )

    def _cards(self, *where: Any, limit: int | None = None) -> list[CardRecord]:
        with self._db.read() as session:
            query = (
                select(ReviewCard, col(Course.slug), col(Lesson.slug), col(Question.position))
                .join(Question, col(Question.id) == col(ReviewCard.question_id))
                .join(Lesson, col(Lesson.id) == col(Question.lesson_id))
                .join(Course, col(Course.id) == col(Lesson.course_id))
                .where(*where)
                .order_by(col(ReviewCard.due_at), col(ReviewCard.id))
            )
            if limit is not None:
                query = query.limit(limit)
            rows = session.execute(query).all()
        cards = []
        for card, course, lesson, position in rows:
            assert card.id is not None
            cards.append(
                CardRecord(
                    id=card.id,
                    team_id=card.team_id,
                    user_id=card.user_id,
                    question_id=card.question_id,
                    card=dict(card.card),
                    due_at=card.due_at,
                    reviews=card.reviews,
                    status=card.status,
                    course=course,
                    lesson=lesson,
                    position=position,
                )
            )
        return cards

    def save_card(
        self,
        *,
        team_id: str,
        user_id: str,
        question_id: int,
        card: dict[str, Any],
        due_at: datetime,
        status: str,
        now: datetime,
    ) -> None:
        """Create or update the learner's card for a question."""
        with self._db.direct(write=True) as connection:
            connection.run(
                _UPSERT_CARD,
                {
                    "team_id": team_id,
                    "user_id": user_id,
                    "question_id": question_id,
                    "card": card,
                    "due_at": due_at,
                    "reviews": 0,
                    "status": status,
                    "updated_at": now,
                },
            )

    def review_sent(self, card_id: int, *, reviews: int, hold_until: datetime) -> bool:
        """Count a review as sent, and hold the card until it is answered."""
        with self._db.write() as session:
            result = session.execute(
                update(ReviewCard)
                .where(col(ReviewCard.id) == card_id, col(ReviewCard.reviews) == reviews - 1)
                .values(reviews=reviews, due_at=hold_until, status="sent")
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    # -- progress and reports -------------------------------------------------------------------

    def progress(self, team_id: str, user_id: str) -> tuple[int, int, int, list[datetime]]:
        """(lessons done, graded answers, right answers, every activity instant)."""
        with self._db.read() as session:
            done = (
                session.execute(
                    select(col(Completion.completed_at)).where(
                        col(Completion.team_id) == team_id, col(Completion.user_id) == user_id
                    )
                )
                .scalars()
                .all()
            )
            answers = session.execute(
                select(col(Answer.correct), col(Answer.answered_at)).where(
                    col(Answer.team_id) == team_id, col(Answer.user_id) == user_id
                )
            ).all()
        graded = [correct for correct, _ in answers if correct is not None]
        activity = list(done) + [at for _, at in answers]
        return len(done), len(graded), sum(1 for c in graded if c), activity

    def teams(self) -> list[str]:
        """Workspaces that have answers stored."""
        with self._db.read() as session:
            return list(
                session.execute(
                    select(col(Answer.team_id)).distinct().order_by(col(Answer.team_id))
                )
                .scalars()
                .all()
            )

    def answer_rows(self, team_id: str, course: str) -> list[AnswerRow]:
        """Every stored answer to the questions of a course, oldest first."""
        with self._db.read() as session:
            rows = session.execute(
                select(
                    Answer,
                    col(Learner.name),
                    col(Course.slug),
                    col(Lesson.slug),
                    col(Question.position),
                    col(Question.kind),
                )
                .join(Question, col(Question.id) == col(Answer.question_id))
                .join(Lesson, col(Lesson.id) == col(Question.lesson_id))
                .join(Course, col(Course.id) == col(Lesson.course_id))
                .join(
                    Learner,
                    and_(
                        col(Learner.team_id) == col(Answer.team_id),
                        col(Learner.user_id) == col(Answer.user_id),
                    ),
                    isouter=True,
                )
                .where(col(Answer.team_id) == team_id, col(Course.slug) == course)
                .order_by(col(Answer.answered_at), col(Answer.id))
            ).all()
        return [
            AnswerRow(
                user_id=answer.user_id,
                learner_name=name or "",
                course=course_slug,
                lesson=lesson,
                position=position,
                kind=kind,
                choice=answer.choice,
                correct=answer.correct,
                attempt=answer.attempt,
                answered_at=answer.answered_at,
            )
            for answer, name, course_slug, lesson, position, kind in rows
        ]

    def lesson_reach(self, team_id: str, course: str) -> dict[str, tuple[int, int]]:
        """Per lesson: (people it was sent to by DM, people who completed it)."""
        with self._db.read() as session:
            sent = session.execute(
                select(col(Lesson.slug), func.count(func.distinct(Delivery.recipient)))
                .join(Delivery, col(Delivery.lesson_id) == col(Lesson.id))
                .join(Course, col(Course.id) == col(Lesson.course_id))
                .where(
                    col(Delivery.team_id) == team_id,
                    col(Course.slug) == course,
                    col(Delivery.kind) == "lesson",
                    col(Delivery.status) == "sent",
                    col(Delivery.recipient_kind) == "dm",
                )
                .group_by(col(Lesson.slug))
            ).all()
            done = session.execute(
                select(col(Lesson.slug), func.count())
                .join(Completion, col(Completion.lesson_id) == col(Lesson.id))
                .join(Course, col(Course.id) == col(Lesson.course_id))
                .where(col(Completion.team_id) == team_id, col(Course.slug) == course)
                .group_by(col(Lesson.slug))
            ).all()
        reach: dict[str, tuple[int, int]] = {slug: (count, 0) for slug, count in sent}
        for slug, count in done:
            reach[slug] = (reach.get(slug, (0, 0))[0], count)
        return reach

    def channel_lessons_sent(self, team_id: str, course: str) -> dict[str, int]:
        """Per lesson: channels it was posted in."""
        with self._db.read() as session:
            rows = session.execute(
                select(col(Lesson.slug), func.count(func.distinct(Delivery.recipient)))
                .join(Delivery, col(Delivery.lesson_id) == col(Lesson.id))
                .join(Course, col(Course.id) == col(Lesson.course_id))
                .where(
                    col(Delivery.team_id) == team_id,
                    col(Course.slug) == course,
                    col(Delivery.status) == "sent",
                    or_(col(Delivery.recipient_kind) == "channel"),
                )
                .group_by(col(Lesson.slug))
            ).all()
        return {slug: count for slug, count in rows}


# -- the answer path's statements, built once -----------------------------------------------------
# A click runs several small statements; building them anew each time costs more CPU than
# running them, so they are built here with bound parameters and reused.

_QUESTION_REF = Direct(
    select(
        col(Delivery.id),
        col(Delivery.team_id),
        col(Delivery.recipient),
        col(Delivery.recipient_kind),
        col(Delivery.kind),
        col(Delivery.lesson_id),
        col(Delivery.payload),
        col(Delivery.drip_id),
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

_ANSWER_KEY = and_(
    col(Answer.team_id) == bindparam("team_id"),
    col(Answer.user_id) == bindparam("user_id"),
    col(Answer.question_id) == bindparam("question_id"),
    col(Answer.attempt) == bindparam("attempt"),
)

_STORED_ANSWER = Direct(
    select(
        col(Answer.id),
        col(Answer.user_id),
        col(Answer.question_id),
        col(Answer.attempt),
        col(Answer.choice),
        col(Answer.correct),
        col(Answer.answered_at),
    ).where(_ANSWER_KEY)
)

_ANSWERED_POSITIONS = Direct(
    select(col(Question.position))
    .join(Answer, col(Answer.question_id) == col(Question.id))
    .where(
        col(Answer.team_id) == bindparam("team_id"),
        col(Answer.user_id) == bindparam("user_id"),
        col(Answer.delivery_id) == bindparam("delivery_id"),
    )
)

_CARD = Direct(
    select(col(ReviewCard.card), col(ReviewCard.reviews), col(ReviewCard.status)).where(
        col(ReviewCard.team_id) == bindparam("team_id"),
        col(ReviewCard.user_id) == bindparam("user_id"),
        col(ReviewCard.question_id) == bindparam("question_id"),
    )
)


def _bound(table: Any, names: list[str]) -> dict[str, Any]:
    """VALUES for an INSERT: one bound parameter per column, typed as the column."""
    return {name: bindparam(name, type_=table.c[name].type) for name in names}


def _insert_answer(dialect: str) -> Any:
    table = Answer.__table__  # type: ignore[attr-defined]
    names = ["team_id", "user_id", "question_id", "attempt", "delivery_id", "choice", "correct"]
    names += ["channel_id", "message_ts", "answered_at"]
    return (
        insert_for_dialect(dialect)(table)
        .values(_bound(table, names))
        .on_conflict_do_nothing(index_elements=["team_id", "user_id", "question_id", "attempt"])
        .returning(table.c.id)
    )


def _insert_completion(dialect: str) -> Any:
    table = Completion.__table__  # type: ignore[attr-defined]
    names = ["team_id", "user_id", "lesson_id", "delivery_id", "completed_at"]
    return (
        insert_for_dialect(dialect)(table)
        .values(_bound(table, names))
        .on_conflict_do_nothing(index_elements=["team_id", "user_id", "lesson_id"])
        .returning(table.c.id)
    )


def _upsert_card(dialect: str) -> Any:
    table = ReviewCard.__table__  # type: ignore[attr-defined]
    names = ["team_id", "user_id", "question_id", "card", "due_at", "reviews", "status"]
    statement = insert_for_dialect(dialect)(table).values(_bound(table, [*names, "updated_at"]))
    return statement.on_conflict_do_update(
        index_elements=["team_id", "user_id", "question_id"],
        set_={
            name: statement.excluded[name] for name in ("card", "due_at", "status", "updated_at")
        },
    )


_INSERT_ANSWER = Direct(build=_insert_answer)
_INSERT_COMPLETION = Direct(build=_insert_completion)
# PostgreSQL only (see `with_points`).
_INSERT_ANSWER_WITH_POINTS = Direct(
    build=lambda dialect: with_points(_insert_answer(dialect), at="answered_at")
)
_INSERT_COMPLETION_WITH_POINTS = Direct(
    build=lambda dialect: with_points(_insert_completion(dialect), at="completed_at")
)
_UPSERT_CARD = Direct(build=_upsert_card)
