"""Courses, lessons and questions mirrored from the lessons folder, so answers can refer to them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.domain.lesson import Catalog, Course, Lesson
from bot.storage.db import Database
from bot.storage.models import Course as CourseRow
from bot.storage.models import Lesson as LessonRow
from bot.storage.models import Question as QuestionRow


@dataclass(frozen=True)
class SyncReport:
    courses: int
    lessons: int
    questions: int
    retired: int


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


class ContentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def sync(self, catalog: Catalog, *, now: datetime) -> SyncReport:
        """Insert or update every course, lesson and question; retire those no longer on disk."""
        with self._db.write() as session:
            retired = 0
            courses = {row.slug: row for row in session.exec(select(CourseRow)).all()}
            for course in catalog.courses:
                row = courses.pop(course.id, None) or CourseRow(
                    slug=course.id, title=course.title, synced_at=now
                )
                row.title = course.title
                row.description = course.description
                row.skills = list(course.skills)
                row.content_hash = _digest(course.title, course.description, course.skills)
                row.retired = False
                row.synced_at = now
                session.add(row)
                session.flush()
                assert row.id is not None
                retired += self._sync_lessons(session, row.id, course)
            for row in courses.values():
                if not row.retired:
                    row.retired = True
                    retired += 1
                    session.add(row)
        return SyncReport(
            courses=len(catalog.courses),
            lessons=catalog.lesson_count,
            questions=catalog.question_count,
            retired=retired,
        )

    def _sync_lessons(self, session: Session, course_row_id: int, course: Course) -> int:
        retired = 0
        query = select(LessonRow).where(LessonRow.course_id == course_row_id)
        lessons = {row.slug: row for row in session.exec(query).all()}
        for lesson in course.lessons:
            row = lessons.pop(lesson.id, None) or LessonRow(
                course_id=course_row_id,
                slug=lesson.id,
                position=lesson.position,
                title=lesson.title,
            )
            row.position = lesson.position
            row.title = lesson.title
            row.objective = lesson.objective
            row.minutes = lesson.minutes
            row.content_hash = _digest(lesson.title, lesson.body, lesson.quiz)
            row.retired = False
            session.add(row)
            session.flush()
            assert row.id is not None
            retired += self._sync_questions(session, row.id, lesson)
        for row in lessons.values():
            if not row.retired:
                row.retired = True
                retired += 1
                session.add(row)
        return retired

    def _sync_questions(self, session: Session, lesson_row_id: int, lesson: Lesson) -> int:
        retired = 0
        query = select(QuestionRow).where(QuestionRow.lesson_id == lesson_row_id)
        questions = {row.position: row for row in session.exec(query).all()}
        for position, question in enumerate(lesson.quiz, start=1):
            row = questions.pop(position, None) or QuestionRow(
                lesson_id=lesson_row_id, position=position, kind=question.kind.value, text=""
            )
            row.kind = question.kind.value
            row.text = question.text
            row.retired = False
            session.add(row)
        for row in questions.values():
            if not row.retired:
                row.retired = True
                retired += 1
                session.add(row)
        return retired

    def lesson_ids(self) -> dict[str, int]:
        """Current lessons by `<course>/<lesson>` key."""
        with self._db.read() as session:
            rows = session.exec(
                select(CourseRow.slug, LessonRow.slug, LessonRow.id)
                .join(LessonRow, col(LessonRow.course_id) == col(CourseRow.id))
                .where(col(LessonRow.retired).is_(False), col(CourseRow.retired).is_(False))
            ).all()
        return {f"{course}/{lesson}": lesson_id for course, lesson, lesson_id in rows if lesson_id}
