from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import select

from bot.content.loader import load_catalog
from bot.storage.content import ContentRepository
from bot.storage.db import Database
from bot.storage.models import Course, Delivery, Drip, Enrolment, Question, ReviewCard
from bot.storage.upcoming import next_due_at

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def test_the_next_due_instant_is_the_earliest_future_lesson_retry_or_review(db: Database) -> None:
    ContentRepository(db).sync(load_catalog(Path("lessons")).catalog, now=NOW)
    assert next_due_at(db, after=NOW) is None
    with db.write() as session:
        course = session.exec(select(Course)).first()
        question = session.exec(select(Question)).first()
        assert course is not None and course.id is not None
        assert question is not None and question.id is not None
        active = Drip(
            team_id="T1", course_id=course.id, created_by="U1", created_at=NOW, updated_at=NOW
        )
        paused = Drip(
            team_id="T1",
            course_id=course.id,
            created_by="U1",
            status="paused",
            created_at=NOW,
            updated_at=NOW,
        )
        session.add_all([active, paused])
        session.flush()
        assert active.id is not None and paused.id is not None
        for drip_id, recipient, status, due in (
            (active.id, "U2", "active", NOW + timedelta(hours=5)),
            (active.id, "U3", "active", NOW - timedelta(hours=1)),  # already due: not ahead
            (active.id, "U4", "finished", NOW + timedelta(hours=1)),
            (paused.id, "U5", "active", NOW + timedelta(hours=2)),  # its drip is paused
        ):
            session.add(
                Enrolment(
                    team_id="T1",
                    drip_id=drip_id,
                    recipient=recipient,
                    recipient_kind="dm",
                    status=status,
                    next_due_at=due,
                    enrolled_by="U1",
                    created_at=NOW,
                )
            )
    assert next_due_at(db, after=NOW) == NOW + timedelta(hours=5)

    with db.write() as session:
        session.add(
            ReviewCard(
                team_id="T1",
                user_id="U2",
                question_id=question.id,
                due_at=NOW + timedelta(hours=4),
                updated_at=NOW,
            )
        )
    assert next_due_at(db, after=NOW) == NOW + timedelta(hours=4)

    with db.write() as session:
        session.add(
            Delivery(
                team_id="T1",
                dedupe_key="retry",
                kind="lesson",
                recipient="U2",
                recipient_kind="dm",
                due_at=NOW + timedelta(hours=3),
                created_at=NOW,
            )
        )
    found = next_due_at(db, after=NOW)
    assert found == NOW + timedelta(hours=3)
    assert found is not None and found.tzinfo is not None
