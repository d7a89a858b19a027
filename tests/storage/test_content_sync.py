from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event
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


def test_edits_are_picked_up_and_an_unchanged_catalog_writes_nothing(db: Database) -> None:
    repository = ContentRepository(db)
    repository.sync(CATALOG, now=NOW)
    ids = repository.lesson_ids()
    security = CATALOG.course("security-basics")
    assert security is not None
    first, second, *rest = security.lessons
    question = replace(first.quiz[0], text="Which sender address gives a phish away?")
    added = replace(second, id="spot-smishing", position=len(security.lessons) + 1)
    renamed = replace(
        security,
        title="Security, the basics",
        lessons=(
            replace(first, title="Spot a phish", quiz=(question, *first.quiz[1:])),
            replace(second, objective="Use a password manager", minutes=5),
            *rest,
            added,
        ),
    )
    edited = Catalog(
        tuple(renamed if course.id == security.id else course for course in CATALOG.courses)
    )
    later = NOW + timedelta(days=1)
    assert repository.sync(edited, now=later).retired == 0

    lessons = repository.lesson_ids()
    assert lessons == {**ids, "security-basics/spot-smishing": max(ids.values()) + 1}
    with db.read() as session:
        course = session.exec(select(Course).where(Course.slug == "security-basics")).one()
        assert (course.title, course.synced_at) == ("Security, the basics", later)
        phish = session.exec(select(Lesson).where(Lesson.id == ids[first.key])).one()
        manager = session.exec(select(Lesson).where(Lesson.id == ids[second.key])).one()
        assert phish.title == "Spot a phish"
        assert (manager.objective, manager.minutes) == ("Use a password manager", 5)
        texts = session.exec(
            select(Question.text).where(Question.lesson_id == phish.id, Question.position == 1)
        ).all()
        assert texts == [question.text]
        assert len(session.exec(select(Question)).all()) == edited.question_count

    statements: list[str] = []
    event.listen(db.engine, "before_cursor_execute", _record(statements))
    assert repository.sync(edited, now=later + timedelta(days=1)).retired == 0
    assert statements and all(s.lstrip().upper().startswith("SELECT") for s in statements)
    with db.read() as session:
        synced = session.exec(select(Course.synced_at)).all()
    assert set(synced) == {later}  # no row written, not even the time of the sync


def _record(statements: list[str]) -> Callable[..., None]:
    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    return record
