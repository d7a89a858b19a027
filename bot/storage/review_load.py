"""A day's reviews as one message: who has cards due, their daily quota, and sending a batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlmodel import Session, col

from bot.storage.db import Database, insert_for
from bot.storage.fastlane import REVIEWS_DUE
from bot.storage.models import Delivery, Learner, ReviewCard, ReviewQuota


class ReviewLoadRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def learners_due(self, *, now: datetime, limit: int) -> list[tuple[str, str]]:
        """(team, user) of learners with cards due, not snoozed, and not at today's cap."""
        if not self._db.found(REVIEWS_DUE, now=now):  # most ticks
            return []
        snoozed = (
            select(col(Learner.id))
            .where(
                col(Learner.team_id) == col(ReviewCard.team_id),
                col(Learner.user_id) == col(ReviewCard.user_id),
                col(Learner.snoozed_until) > now,
            )
            .exists()
        )
        capped = (
            select(col(ReviewQuota.id))
            .where(
                col(ReviewQuota.team_id) == col(ReviewCard.team_id),
                col(ReviewQuota.user_id) == col(ReviewCard.user_id),
                col(ReviewQuota.resume_at) > now,
            )
            .exists()
        )
        with self._db.read() as session:
            rows = session.execute(
                select(col(ReviewCard.team_id), col(ReviewCard.user_id))
                .where(
                    col(ReviewCard.status).in_(("active", "sent")),
                    col(ReviewCard.due_at) <= now,
                    ~snoozed,
                    ~capped,
                )
                .group_by(col(ReviewCard.team_id), col(ReviewCard.user_id))
                .order_by(col(ReviewCard.team_id), col(ReviewCard.user_id))
                .limit(limit)
            ).all()
        return [(team_id, user_id) for team_id, user_id in rows]

    def move(self, card_id: int, *, due_at: datetime, to: datetime) -> bool:
        """Move an active card due at `due_at` to `to`; False if it changed meanwhile."""
        with self._db.write() as session:
            result = session.execute(
                update(ReviewCard)
                .where(
                    col(ReviewCard.id) == card_id,
                    col(ReviewCard.status) == "active",
                    col(ReviewCard.due_at) == due_at,
                )
                .values(due_at=to)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def sent_on(self, team_id: str, user_id: str, day: date) -> int:
        """Review questions the learner got on `day` (their local day)."""
        with self._db.read() as session:
            row = session.execute(
                select(col(ReviewQuota.day), col(ReviewQuota.sent)).where(
                    col(ReviewQuota.team_id) == team_id, col(ReviewQuota.user_id) == user_id
                )
            ).first()
        return int(row[1]) if row is not None and row[0] == day else 0

    def cap_until(self, team_id: str, user_id: str, *, day: date, until: datetime) -> None:
        """The learner's cap for `day` is reached: look again at `until`."""
        with self._db.write() as session:
            statement = insert_for(session)(ReviewQuota).values(
                team_id=team_id, user_id=user_id, day=day, sent=0, resume_at=until
            )
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=["team_id", "user_id"], set_={"resume_at": until}
                )
            )

    def send(
        self,
        *,
        team_id: str,
        user_id: str,
        cards: Sequence[tuple[int, int]],
        hold_until: datetime,
        day: date,
        resume_at: datetime | None,
        dedupe_key: str,
        payload: dict[str, Any],
        now: datetime,
    ) -> bool:
        """Mark the cards (id, reviews so far) sent, count them for `day` and queue one Review
        delivery, all in one transaction; False (nothing changed) if another process did."""
        try:
            with self._db.write() as session:
                _mark_sent(session, cards, hold_until=hold_until, now=now)
                _count(session, team_id, user_id, len(cards), day=day, resume_at=resume_at)
                _queue_review(session, team_id, user_id, dedupe_key, payload, now=now)
        except _Taken:
            return False
        return True


def _mark_sent(
    session: Session, cards: Sequence[tuple[int, int]], *, hold_until: datetime, now: datetime
) -> None:
    for card_id, reviews in cards:
        changed = session.execute(
            update(ReviewCard)
            .where(col(ReviewCard.id) == card_id, col(ReviewCard.reviews) == reviews)
            .values(reviews=reviews + 1, due_at=hold_until, status="sent", updated_at=now)
        )
        if not changed.rowcount:  # type: ignore[attr-defined]
            raise _Taken  # rolls the whole batch back


def _count(
    session: Session,
    team_id: str,
    user_id: str,
    count: int,
    *,
    day: date,
    resume_at: datetime | None,
) -> None:
    current = session.execute(
        select(ReviewQuota).where(
            and_(col(ReviewQuota.team_id) == team_id, col(ReviewQuota.user_id) == user_id)
        )
    ).scalar_one_or_none()
    sent = count + (current.sent if current is not None and current.day == day else 0)
    statement = insert_for(session)(ReviewQuota).values(
        team_id=team_id, user_id=user_id, day=day, sent=sent, resume_at=resume_at
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["team_id", "user_id"],
            set_={"day": day, "sent": sent, "resume_at": resume_at},
        )
    )


def _queue_review(
    session: Session,
    team_id: str,
    user_id: str,
    dedupe_key: str,
    payload: dict[str, Any],
    *,
    now: datetime,
) -> None:
    session.execute(
        insert_for(session)(Delivery)
        .values(
            team_id=team_id,
            dedupe_key=dedupe_key,
            kind="review",
            recipient=user_id,
            recipient_kind="dm",
            status="pending",
            due_at=now,
            tries=0,
            created_at=now,
            parts_sent=0,
            payload=payload,
        )
        .on_conflict_do_nothing(index_elements=["team_id", "dedupe_key"])
    )


class _Taken(Exception):
    """Another process sent one of the cards first."""
