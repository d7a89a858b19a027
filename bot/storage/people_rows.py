"""How a person's rows are read out and rewritten, for bot/storage/people.py.

Plain JSON values, what the ids in them refer to, and their id found in (and scrubbed from)
others' text.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import String, Table, cast, select
from sqlalchemy.orm import Session

from bot.storage.models import Course, Drip, Lesson, Question

# What a forgotten person's id becomes in the words of others (a welcome "<@U…> enrolled you").
FORMER = "a former member"


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def mentioning(table: Table, column: str, team_id: str, user_id: str) -> list[Any]:
    """Rows of the workspace whose text (or JSON, as text) holds the id anywhere."""
    found = cast(table.c[column], String).contains(user_id, autoescape=True)
    return [table.c.team_id == team_id, found]


def _mention(user_id: str) -> re.Pattern[str]:
    return re.compile(rf"<@{re.escape(user_id)}(?:\|[^>]*)?>")


def scrub(value: Any, user_id: str) -> Any:
    """`value` with the person's id gone: a field that is their id dropped, mentions reworded."""
    if isinstance(value, dict):
        return {k: scrub(v, user_id) for k, v in value.items() if v != user_id}
    if isinstance(value, list):
        return [scrub(v, user_id) for v in value if v != user_id]
    if isinstance(value, str):
        return _mention(user_id).sub(FORMER, value).replace(user_id, FORMER)
    return value


def plain_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: _json_value(value) for key, value in row.items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


def referred(session: Session, own: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """What the ids in the person's rows refer to: questions, lessons and drips by id."""
    question, lesson, course, drip = (_table(m) for m in (Question, Lesson, Course, Drip))
    questions = {
        str(qid): {"course": c, "lesson": ls, "position": position, "text": text}
        for qid, position, text, ls, c in _rows(
            session,
            select(
                question.c.id, question.c.position, question.c.text, lesson.c.slug, course.c.slug
            )
            .join(lesson, lesson.c.id == question.c.lesson_id)
            .join(course, course.c.id == lesson.c.course_id),
            question.c.id,
            _ids(own, ("answer", "review_card"), "question_id"),
        )
    }
    lessons = {
        str(lid): {"course": c, "lesson": slug, "title": title}
        for lid, slug, title, c in _rows(
            session,
            select(lesson.c.id, lesson.c.slug, lesson.c.title, course.c.slug).join(
                course, course.c.id == lesson.c.course_id
            ),
            lesson.c.id,
            _ids(own, ("delivery", "completion"), "lesson_id"),
        )
    }
    drips = {
        str(did): {"course": c}
        for did, c in _rows(
            session,
            select(drip.c.id, course.c.slug).join(course, course.c.id == drip.c.course_id),
            drip.c.id,
            _ids(own, ("enrolment", "delivery", "drip_target"), "drip_id"),
        )
    }
    return {"questions": questions, "lessons": lessons, "drips": drips}


def _rows(session: Session, query: Any, key: Any, ids: set[int]) -> list[Any]:
    if not ids:
        return []
    return list(session.execute(query.where(key.in_(sorted(ids))).order_by(key)).all())


def _ids(own: dict[str, list[dict[str, Any]]], tables: tuple[str, ...], column: str) -> set[int]:
    return {
        int(row[column])
        for table in tables
        for row in own.get(table, [])
        if row.get(column) is not None
    }
