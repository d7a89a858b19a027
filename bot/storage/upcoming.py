"""When the delivery tick next has something to do: what the sandbox's time travel jumps to."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from bot.storage.db import Database
from bot.storage.models import Delivery, Drip, Enrolment, ReviewCard


def next_due_at(db: Database, *, after: datetime) -> datetime | None:
    """The earliest instant after `after` when a lesson, a review or a retry falls due."""
    with db.read() as session:
        lesson = session.exec(
            select(func.min(Enrolment.next_due_at))
            .join(Drip, col(Drip.id) == col(Enrolment.drip_id))
            .where(
                Enrolment.status == "active",
                Drip.status == "active",
                col(Enrolment.next_due_at) > after,
            )
        ).one()
        queued = session.exec(
            select(func.min(Delivery.due_at)).where(
                Delivery.status == "pending", col(Delivery.due_at) > after
            )
        ).one()
        review = session.exec(
            select(func.min(ReviewCard.due_at)).where(
                ReviewCard.status == "active", col(ReviewCard.due_at) > after
            )
        ).one()
    found = [instant for instant in (lesson, queued, review) if instant is not None]
    return min(found) if found else None
