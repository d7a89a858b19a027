"""The outbox's backlog for operators' gauges: how much is due, and since when."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select
from sqlmodel import col

from bot.storage.db import Database
from bot.storage.models import Delivery


def due_backlog(db: Database, *, now: datetime) -> tuple[int, datetime | None]:
    """Deliveries a tick would claim now (due, or their lease ran out), and the earliest due_at."""
    with db.read() as session:
        count, oldest = session.execute(
            select(func.count(), func.min(col(Delivery.due_at))).where(
                or_(
                    and_(col(Delivery.status) == "pending", col(Delivery.due_at) <= now),
                    and_(col(Delivery.status) == "sending", col(Delivery.lease_until) < now),
                )
            )
        ).one()
    if oldest is not None and oldest.tzinfo is None:  # SQLite hands back naive UTC
        oldest = oldest.replace(tzinfo=UTC)
    return int(count), oldest
