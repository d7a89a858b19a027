"""Answers and completions: what an answer button points at, and storing them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import col

from bot.domain.points import Award
from bot.storage.db import Database
from bot.storage.fastlane import (
    ANSWERED_POSITIONS,
    INSERT_ANSWER,
    INSERT_ANSWER_WITH_POINTS,
    INSERT_COMPLETION,
    INSERT_COMPLETION_WITH_POINTS,
    QUESTION_REF,
    STORED_ANSWER,
    DirectConnection,
    insert_once,
)
from bot.storage.models import (
    Answer,
    Course,
    Delivery,
    Lesson,
    Question,
)
from bot.storage.rows import record
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


# What a (delivery, position) points at never changes once the delivery exists, so it is looked
# up once per process; the cache is dropped whole when it grows past this many entries.
_REF_CACHE_SIZE = 20_000


class AnswerRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._refs: dict[tuple[int, int], QuestionRef] = {}

    def answering(self) -> AbstractContextManager[None]:
        """Around what a click reads and writes before its ack (`question`, `record`): one
        connection for all of it."""
        return self._db.holding_urgent()

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
        with self._db.direct(urgent=True) as connection:  # before the ack
            row = connection.first(QUESTION_REF, {"delivery_id": delivery_id, "position": position})
        if row is None:
            return self._review_item(delivery_id, position)
        payload = row.pop("payload") or {}
        return record(
            QuestionRef, row, position=position, attempt=int(payload.get("attempt", 1)), item=None
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
                    col(Course.slug).label("course"),
                    col(Lesson.slug).label("lesson"),
                    col(Lesson.id).label("lesson_id"),
                    col(Delivery.team_id),
                    col(Delivery.recipient),
                    col(Delivery.recipient_kind),
                    col(Delivery.drip_id),
                )
                .join(Lesson, col(Lesson.id) == col(Delivery.lesson_id))
                .join(Course, col(Course.id) == col(Lesson.course_id))
                .where(col(Delivery.id) == delivery_id)
            ).first()
        return None if row is None else record(DeliveredLesson, row._mapping)

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
        with self._writing(award, urgent=True) as connection:  # before the ack
            inserted = insert_once(
                connection,
                (INSERT_ANSWER, INSERT_ANSWER_WITH_POINTS),
                values,
                award=award,
                course=ref.course,
                now=now,
            )
            if inserted is not None:
                stored = AnswerRecord(
                    id=inserted["id"],
                    user_id=user_id,
                    question_id=ref.question_id,
                    attempt=ref.attempt,
                    choice=choice[:3000],
                    correct=correct,
                    answered_at=now,
                )
                return stored, True
            row = connection.first(STORED_ANSWER, key)
        assert row is not None  # the conflicting answer, which is never deleted
        return record(AnswerRecord, row), False

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
                ANSWERED_POSITIONS,
                {"team_id": team_id, "user_id": user_id, "delivery_id": delivery_id},
            )
        return {row["position"] for row in rows}

    def complete_when_answered(
        self,
        *,
        team_id: str,
        user_id: str,
        lesson_id: int,
        delivery_id: int,
        questions: int,
        now: datetime,
        award: Award | None = None,
        course: str = "",
    ) -> bool:
        """`complete` once the learner has answered every one of the delivery's `questions`
        (positions 1 to `questions`); False if not yet, or done before.

        On PostgreSQL the look and the insert share one connection (one checkout for what runs
        after every answer to a lesson). On SQLite the insert takes the writers' turn, which
        the look need not wait for.
        """
        needed = set(range(1, questions + 1))
        who = {"team_id": team_id, "user_id": user_id, "delivery_id": delivery_id}
        if self._db.is_sqlite:
            if not self.answered_positions(team_id, user_id, delivery_id) >= needed:
                return False
            return self.complete(
                team_id=team_id,
                user_id=user_id,
                lesson_id=lesson_id,
                delivery_id=delivery_id,
                now=now,
                award=award,
                course=course,
            )
        with self._db.direct(write=True) as connection:
            rows = connection.all(ANSWERED_POSITIONS, who)
            if not {row["position"] for row in rows} >= needed:
                return False
            inserted = insert_once(
                connection,
                (INSERT_COMPLETION, INSERT_COMPLETION_WITH_POINTS),
                {**who, "lesson_id": lesson_id, "completed_at": now},
                award=award,
                course=course,
                now=now,
            )
        return inserted is not None

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
        with self._writing(award) as connection:
            inserted = insert_once(
                connection,
                (INSERT_COMPLETION, INSERT_COMPLETION_WITH_POINTS),
                values,
                award=award,
                course=course,
                now=now,
            )
        return inserted is not None

    @contextmanager
    def _writing(self, award: Award | None, *, urgent: bool = False) -> Iterator[DirectConnection]:
        """The fast lane for a write; on SQLite, with `award`, in one transaction (the answer or
        completion and its points: see `fastlane.insert_once`)."""
        with (
            self._db.direct(write=True, urgent=urgent) as connection,
            connection.atomic() if award is not None and self._db.is_sqlite else nullcontext(),
        ):
            yield connection
