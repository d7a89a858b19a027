from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from bot.content.loader import load_catalog
from bot.domain.lesson import Catalog
from bot.services.catalog import CatalogService
from bot.storage.content import ContentRepository
from bot.storage.db import Database
from bot.storage.models import Course, Lesson, Question

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
CATALOG = load_catalog(Path("lessons")).catalog


def test_sync_mirrors_the_shipped_lessons_and_is_idempotent(db: Database) -> None:
    service = CatalogService(CATALOG, ContentRepository(db))
    first = service.sync(now=NOW)
    assert (first.courses, first.lessons, first.questions) == (
        3,
        CATALOG.lesson_count,
        CATALOG.question_count,
    )
    ids = ContentRepository(db).lesson_ids()
    service.sync(now=NOW)
    assert ContentRepository(db).lesson_ids() == ids  # same rows, no duplicates
    with db.read() as session:
        assert len(session.exec(select(Lesson)).all()) == CATALOG.lesson_count
        assert len(session.exec(select(Question)).all()) == CATALOG.question_count
    assert "security-basics/spot-phishing" in ids


def test_removed_content_is_retired_not_deleted(db: Database) -> None:
    repository = ContentRepository(db)
    repository.sync(CATALOG, now=NOW)
    security = CATALOG.course("security-basics")
    assert security is not None
    first = security.lessons[0]
    shorter = replace(first, quiz=first.quiz[:1])
    trimmed = Catalog(
        tuple(
            replace(course, lessons=(shorter, *course.lessons[2:]))
            for course in CATALOG.courses
            if course.id == "security-basics"
        )
    )
    report = repository.sync(trimmed, now=NOW)
    # two other courses, one lesson and two questions of the first lesson retired
    assert report.retired == 2 + 1 + (len(first.quiz) - 1)
    with db.read() as session:
        retired = session.exec(select(Course.slug).where(Course.retired)).all()
        assert sorted(retired) == ["career-microlearning", "leading-people"]
    assert set(repository.lesson_ids()) == {
        f"security-basics/{lesson.id}" for lesson in trimmed.courses[0].lessons
    }
    repository.sync(CATALOG, now=NOW)  # putting it back revives the same rows
    with db.read() as session:
        assert session.exec(select(Course).where(Course.retired)).all() == []
