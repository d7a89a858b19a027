"""Courses, lessons and questions mirrored from the lessons folder, so answers can refer to them."""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.engine import Connection
from sqlmodel import col
from sqlmodel import select as model_select

from bot.domain.lesson import Catalog
from bot.storage.db import Database
from bot.storage.models import Course as CourseRow
from bot.storage.models import Lesson as LessonRow
from bot.storage.models import Question as QuestionRow
from bot.storage.models.base import table_of

_COURSES: Table = table_of(CourseRow)
_LESSONS: Table = table_of(LessonRow)
_QUESTIONS: Table = table_of(QuestionRow)

Key = tuple[Any, ...]


@dataclass(frozen=True)
class SyncReport:
    courses: int
    lessons: int
    questions: int
    retired: int


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


# A catalog's content hashes, by catalog (identity) while it lives: hashing each lesson's quiz
# is most of a sync that finds nothing changed, and a process syncs the same catalog again
# (the test suite, at every bot it starts).
_HASHES: dict[int, tuple[weakref.ref[Catalog], dict[tuple[str, str], str]]] = {}


def _hashes(catalog: Catalog) -> dict[tuple[str, str], str]:
    """Content hashes by ("course", id) and ("lesson", key)."""
    key = id(catalog)
    found = _HASHES.get(key)
    if found is not None and found[0]() is catalog:
        return found[1]
    hashes: dict[tuple[str, str], str] = {}
    for course in catalog.courses:
        hashes["course", course.id] = _digest(course.title, course.description, course.skills)
        for lesson in course.lessons:
            hashes["lesson", lesson.key] = _digest(lesson.title, lesson.body, lesson.quiz)
    _HASHES[key] = (weakref.ref(catalog, lambda _: _HASHES.pop(key, None)), hashes)
    return hashes


@dataclass
class _Changes:
    """What one level (courses, lessons or questions) needs so the database matches the catalog."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    retire: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.inserts or self.updates or self.retire)


def _rows(
    connection: Connection, table: Table, key: tuple[str, ...]
) -> dict[Key, Mapping[Any, Any]]:
    rows = connection.execute(select(table)).mappings().all()
    return {tuple(row[name] for name in key): row for row in rows}


def _changes(
    existing: Mapping[Key, Mapping[Any, Any]],
    wanted: Mapping[Key, dict[str, Any]],
    *,
    parent: str | None = None,
    parents: set[int] | None = None,
) -> _Changes:
    """Rows to insert, to update (only those that differ) and to retire. A row goes into
    retirement only under a parent still in the catalog (`parent` column in `parents`): the
    lessons of a removed course stay as they were, as does the removed course's content."""
    changes = _Changes()
    for key, values in wanted.items():
        row = existing.get(key)
        if row is None:
            changes.inserts.append(values)
        elif any(row[name] != value for name, value in values.items()):
            changes.updates.append({"row_id": row["id"], **values})
    for key, row in existing.items():
        if key in wanted or row["retired"]:
            continue
        if parent is None or (parents is not None and row[parent] in parents):
            changes.retire.append(row["id"])
    return changes


def _apply(connection: Connection, table: Table, changes: _Changes, **extra: Any) -> None:
    """Each kind of change as one statement (executemany), whatever the number of rows."""
    if changes.inserts:
        connection.execute(insert(table), [{**values, **extra} for values in changes.inserts])
    if changes.updates:
        names = [name for name in changes.updates[0] if name != "row_id"]
        statement = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values({name: bindparam(name) for name in names})
        )
        connection.execute(statement, changes.updates)
    if changes.retire:
        connection.execute(update(table).where(table.c.id.in_(changes.retire)).values(retired=True))


class _Sync:
    """The three levels in turn, each against the ids the level above has now. Without
    `now`, it only looks: it stops at the first level that would change anything."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._hashes = _hashes(catalog)
        self._retired = 0

    def run(self, connection: Connection, *, now: datetime | None) -> int | None:
        """Rows retired (0 when nothing changed); None when only looking and something would."""
        self._retired = 0
        course_ids = self._courses(connection, now=now)
        if course_ids is None:
            return None
        lesson_ids = self._lessons(connection, course_ids, now=now)
        if lesson_ids is None or not self._questions(connection, lesson_ids, now=now):
            return None
        return self._retired

    def _level(
        self,
        connection: Connection,
        table: Table,
        changes: _Changes,
        *,
        now: datetime | None,
        **extra: Any,
    ) -> bool:
        """Count and (with `now`) apply one level's changes; False when only looking and
        there are some."""
        if now is None and changes:
            return False
        self._retired += len(changes.retire)
        if now is not None and changes:
            _apply(connection, table, changes, **extra)
        return True

    def _courses(self, connection: Connection, *, now: datetime | None) -> dict[str, int] | None:
        courses = _rows(connection, _COURSES, ("slug",))
        wanted: dict[Key, dict[str, Any]] = {
            (course.id,): {
                "slug": course.id,
                "title": course.title,
                "description": course.description,
                "skills": list(course.skills),
                "content_hash": self._hashes["course", course.id],
                "retired": False,
            }
            for course in self._catalog.courses
        }
        changes = _changes(courses, wanted)
        if not self._level(connection, _COURSES, changes, now=now, synced_at=now):
            return None
        if now is not None:
            if courses:  # every course on disk was seen by this sync
                connection.execute(
                    update(_COURSES)
                    .where(_COURSES.c.slug.in_([course.id for course in self._catalog.courses]))
                    .values(synced_at=now)
                )
            courses = _rows(connection, _COURSES, ("slug",))
        return {course.id: courses[(course.id,)]["id"] for course in self._catalog.courses}

    def _lessons(
        self, connection: Connection, course_ids: dict[str, int], *, now: datetime | None
    ) -> dict[str, int] | None:
        lessons = _rows(connection, _LESSONS, ("course_id", "slug"))
        wanted = {
            (course_ids[course.id], lesson.id): {
                "course_id": course_ids[course.id],
                "slug": lesson.id,
                "position": lesson.position,
                "title": lesson.title,
                "objective": lesson.objective,
                "minutes": lesson.minutes,
                "content_hash": self._hashes["lesson", lesson.key],
                "retired": False,
            }
            for course in self._catalog.courses
            for lesson in course.lessons
        }
        changes = _changes(lessons, wanted, parent="course_id", parents=set(course_ids.values()))
        if not self._level(connection, _LESSONS, changes, now=now):
            return None
        if now is not None and changes:
            lessons = _rows(connection, _LESSONS, ("course_id", "slug"))
        return {
            lesson.key: lessons[(course_ids[course.id], lesson.id)]["id"]
            for course in self._catalog.courses
            for lesson in course.lessons
        }

    def _questions(
        self, connection: Connection, lesson_ids: dict[str, int], *, now: datetime | None
    ) -> bool:
        questions = _rows(connection, _QUESTIONS, ("lesson_id", "position"))
        wanted = {
            (lesson_ids[lesson.key], position): {
                "lesson_id": lesson_ids[lesson.key],
                "position": position,
                "kind": question.kind.value,
                "text": question.text,
                "retired": False,
            }
            for course in self._catalog.courses
            for lesson in course.lessons
            for position, question in enumerate(lesson.quiz, start=1)
        }
        changes = _changes(questions, wanted, parent="lesson_id", parents=set(lesson_ids.values()))
        return self._level(connection, _QUESTIONS, changes, now=now)


class ContentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    def sync(self, catalog: Catalog, *, now: datetime) -> SyncReport:
        """Insert or update every course, lesson and question; retire those no longer on disk.

        It reads first and writes only when something differs, so a start-up with unchanged
        lessons (every start-up but the first after an edit) takes no write lock and leaves
        every row, `synced_at` included, as it was."""
        sync = _Sync(catalog)
        with self._db.read() as session:
            retired = sync.run(session.connection(), now=None)
        if retired is None:
            with self._db.write_connection() as connection:
                retired = sync.run(connection, now=now)
            assert retired is not None
        return SyncReport(
            courses=len(catalog.courses),
            lessons=catalog.lesson_count,
            questions=catalog.question_count,
            retired=retired,
        )

    def lesson_ids(self) -> dict[str, int]:
        """Current lessons by `<course>/<lesson>` key."""
        with self._db.read() as session:
            rows = session.exec(
                model_select(CourseRow.slug, LessonRow.slug, LessonRow.id)
                .join(LessonRow, col(LessonRow.course_id) == col(CourseRow.id))
                .where(col(LessonRow.retired).is_(False), col(CourseRow.retired).is_(False))
            ).all()
        return {f"{course}/{lesson}": lesson_id for course, lesson, lesson_id in rows if lesson_id}
