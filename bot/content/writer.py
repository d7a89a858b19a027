"""Courses written as a lessons folder in exactly the format the loader reads (see PRODUCT.md)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

import yaml

from bot.domain.lesson import Course, Lesson, LessonFormat, Question, QuestionKind

COURSE_FILE = "course.yaml"
SLUG_MAX = 50


def write_course(course: Course, folder: Path) -> list[Path]:
    """Write `course.yaml` and one `NN-<lesson-id>.md` per lesson into `folder`; return them."""
    folder.mkdir(parents=True, exist_ok=True)
    width = max(2, len(str(len(course.lessons))))
    files = [(folder / COURSE_FILE, dump_course(course))]
    for number, lesson in enumerate(course.lessons, start=1):
        files.append((folder / f"{number:0{width}d}-{lesson.id}.md", dump_lesson(lesson)))
    for path, text in files:
        path.write_text(text, encoding="utf-8", newline="\n")
    return [path for path, _ in files]


def dump_course(course: Course) -> str:
    """The text of `course.yaml`: title, description and skills (when there are any)."""
    data: dict[str, Any] = {"title": course.title, "description": course.description}
    if course.skills:
        data["skills"] = list(course.skills)
    return _yaml(data)


def dump_lesson(lesson: Lesson) -> str:
    """A lesson file: YAML front matter with only the keys that carry something, then the body."""
    front: dict[str, Any] = {
        "title": lesson.title,
        "objective": lesson.objective,
        "minutes": lesson.minutes,
    }
    if lesson.format is not LessonFormat.TEXT:
        front["format"] = lesson.format.value
    if lesson.media:
        front["media"] = [
            {"kind": m.kind.value, "url": m.url, **({"alt": m.alt} if m.alt else {})}
            for m in lesson.media
        ]
    if lesson.discussion:
        front["discussion"] = lesson.discussion
    if lesson.practice:
        front["practice"] = lesson.practice
    if lesson.quiz:
        front["quiz"] = [_question(question) for question in lesson.quiz]
    body = lesson.body if lesson.body.endswith("\n") else lesson.body + "\n"
    return f"---\n{_yaml(front)}---\n{body}"


def slugify(text: str) -> str:
    """A lesson or course id from `text`: lowercase ASCII letters, digits and single hyphens."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"['`]", "", ascii_text.lower())
    slug = re.sub(r"[^a-z0-9]+", "-", words).strip("-")
    return slug[:SLUG_MAX].rstrip("-")


def _question(question: Question) -> dict[str, Any]:
    item: dict[str, Any] = {"question": question.text}
    if question.kind is not QuestionKind.SINGLE:
        item["kind"] = question.kind.value
    if question.options:
        options: list[dict[str, Any]] = []
        for option in question.options:
            entry: dict[str, Any] = {"text": option.text}
            if option.correct:
                entry["correct"] = True
            if option.feedback:
                entry["feedback"] = option.feedback
            options.append(entry)
        item["options"] = options
    if question.explanation:
        item["explanation"] = question.explanation
    if not question.shuffle:
        item["shuffle"] = False
    return item


def _yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)
