"""Review cards: each learner's FSRS card per question they missed, and which are due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlmodel import col

from bot.storage.db import Database
from bot.storage.fastlane import CARD, REVIEW_SCHEDULE, UPSERT_CARD
from bot.storage.learners import review_schedule_of
from bot.storage.models import Course, Lesson, Question, ReviewCard
from bot.storage.rows import record


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


class CardRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def card(self, team_id: str, user_id: str, question_id: int) -> CardState | None:
        """The learner's card for a question, without the course it belongs to (one table)."""
        with self._db.direct() as connection:
            row = connection.first(
                CARD, {"team_id": team_id, "user_id": user_id, "question_id": question_id}
            )
        return None if row is None else record(CardState, {**row, "card": dict(row["card"])})

    def card_and_schedule(
        self, team_id: str, user_id: str, question_id: int
    ) -> tuple[CardState | None, tuple[str | None, list[tuple[str, str, str, str]]] | None]:
        """`card` and, on the same connection, what `LearnerRepository.review_schedule` reads
        (None for a learner not stored, whose enrolments it reads instead): for an answer whose
        card is about to be rescheduled."""
        who = {"team_id": team_id, "user_id": user_id}
        with self._db.direct() as connection:
            row = connection.first(CARD, {**who, "question_id": question_id})
            schedule = connection.all(REVIEW_SCHEDULE, who)
        card = None if row is None else record(CardState, {**row, "card": dict(row["card"])})
        return card, review_schedule_of(schedule)

    def cards_of(self, team_id: str, user_id: str) -> list[CardRecord]:
        """Cards still being reviewed: scheduled (active) or sent and awaiting an answer."""
        return self._cards(
            col(ReviewCard.team_id) == team_id,
            col(ReviewCard.user_id) == user_id,
            col(ReviewCard.status).in_(("active", "sent")),
        )

    def _cards(self, *where: Any, limit: int | None = None) -> list[CardRecord]:
        query = (
            select(
                col(ReviewCard.id),
                col(ReviewCard.team_id),
                col(ReviewCard.user_id),
                col(ReviewCard.question_id),
                col(ReviewCard.card),
                col(ReviewCard.due_at),
                col(ReviewCard.reviews),
                col(ReviewCard.status),
                col(Course.slug).label("course"),
                col(Lesson.slug).label("lesson"),
                col(Question.position),
            )
            .join(Question, col(Question.id) == col(ReviewCard.question_id))
            .join(Lesson, col(Lesson.id) == col(Question.lesson_id))
            .join(Course, col(Course.id) == col(Lesson.course_id))
            .where(*where)
            .order_by(col(ReviewCard.due_at), col(ReviewCard.id))
        )
        if limit is not None:
            query = query.limit(limit)
        with self._db.read() as session:
            rows = session.execute(query).all()
        return [
            record(CardRecord, {**row._mapping, "card": dict(row._mapping["card"])}) for row in rows
        ]

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
                UPSERT_CARD,
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
