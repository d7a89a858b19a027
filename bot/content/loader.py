"""Load a lessons folder into domain types, collecting every problem as `path:line: message`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.content import templating
from bot.content.fields import Problem, Reporter, choice_field, text_field, unknown_keys
from bot.content.lesson_parts import (
    MEDIA_KEYS,
    OPTION_KEYS,
    QUESTION_KEYS,
    TEXT_MAX,
    media_field,
    quiz_field,
)
from bot.content.yamlines import YamlProblem, load
from bot.domain.lesson import (
    DESCRIPTION_MAX,
    MINUTES_RANGE,
    TITLE_MAX,
    Catalog,
    Course,
    Lesson,
    LessonFormat,
    Source,
)

COURSE_ID = re.compile(r"^[a-z0-9-]+$")
LESSON_FILE = re.compile(r"^(\d{2,})-([a-z0-9-]+)\.md$")
COURSE_FILE = "course.yaml"

COURSE_KEYS = {"title", "description", "skills"}
LESSON_KEYS = {
    "title",
    "objective",
    "minutes",
    "format",
    "media",
    "discussion",
    "practice",
    "quiz",
}

__all__ = [
    "COURSE_KEYS",
    "LESSON_KEYS",
    "MEDIA_KEYS",
    "OPTION_KEYS",
    "QUESTION_KEYS",
    "LoadResult",
    "Problem",
    "load_catalog",
    "split_front_matter",
]


@dataclass
class LoadResult:
    catalog: Catalog
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def load_catalog(folder: Path) -> LoadResult:
    """Read every course folder under `folder` (or `folder` itself, when it is one course's);
    lessons with problems stay out of the catalog."""
    problems: list[Problem] = []
    if not folder.is_dir():
        problems.append(Problem(folder, 1, "not a folder of courses (check LESSONS_DIR)"))
        return LoadResult(Catalog(), problems)
    if (folder / COURSE_FILE).is_file():  # one course's own folder: that course alone
        course = _load_course(folder, problems)
        return LoadResult(Catalog((course,) if course else ()), sorted(problems))
    courses = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or not entry.is_dir():
            continue
        course = _load_course(entry, problems)
        if course is not None:
            courses.append(course)
    if not courses and not problems:
        problems.append(Problem(folder, 1, "no courses found: add a folder with a course.yaml"))
    problems.sort()
    return LoadResult(Catalog(tuple(courses)), problems)


def _load_course(folder: Path, problems: list[Problem]) -> Course | None:
    course_file = folder / COURSE_FILE
    if not COURSE_ID.match(folder.name):
        problems.append(
            Problem(folder, 1, "course folder names must be lowercase letters, digits and '-'")
        )
        return None
    report = Reporter(course_file, problems)
    if not course_file.is_file():
        report.at(1, "missing: every course folder needs a course.yaml with title and description")
        return None
    try:
        report.doc = load(course_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        report.at(1, f"cannot be read: {error}")
        return None
    except YamlProblem as error:
        report.at(error.line, error.message)
        return None
    data = report.doc.value
    if not isinstance(data, dict):
        report.at(1, "expected keys title, description and skills")
        return None
    unknown_keys(report, data, (), COURSE_KEYS, "course.yaml")
    title = text_field(report, data, ("title",), required=True, limit=TITLE_MAX)
    description = text_field(report, data, ("description",), required=True, limit=DESCRIPTION_MAX)
    skills = _skills(report, data)
    lessons = _load_lessons(folder, problems)
    if report.count:
        return None
    return Course(
        id=folder.name,
        title=title,
        description=description,
        skills=skills,
        lessons=tuple(lessons),
        source=Source(course_file, 1),
    )


def _skills(report: Reporter, data: dict[str, Any]) -> tuple[str, ...]:
    skills = data.get("skills", [])
    if skills is None:
        return ()
    if not isinstance(skills, list) or not all(isinstance(s, str) and s for s in skills):
        report.key(("skills",), "skills must be a list of words, like [security, email]")
        return ()
    return tuple(skills)


def _load_lessons(folder: Path, problems: list[Problem]) -> list[Lesson]:
    files: list[tuple[str, str, Path]] = []
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.name == COURSE_FILE or not entry.is_file():
            continue
        match = LESSON_FILE.match(entry.name)
        if match is None:
            if entry.suffix == ".md":
                problems.append(
                    Problem(
                        entry,
                        1,
                        "lesson files are named NN-lesson-id.md, like 01-spot-the-phish.md",
                    )
                )
            continue
        files.append((match.group(1), match.group(2), entry))
    seen_numbers: dict[str, Path] = {}
    seen_ids: dict[str, Path] = {}
    lessons: list[Lesson] = []
    for number, lesson_id, path in files:
        if number in seen_numbers:
            problems.append(
                Problem(path, 1, f"two lessons numbered {number}: also {seen_numbers[number].name}")
            )
        if lesson_id in seen_ids:
            problems.append(
                Problem(
                    path, 1, f"duplicate lesson id {lesson_id!r}: also {seen_ids[lesson_id].name}"
                )
            )
        seen_numbers.setdefault(number, path)
        seen_ids.setdefault(lesson_id, path)
        lesson = _load_lesson(folder.name, lesson_id, len(lessons) + 1, path, problems)
        if lesson is not None:
            lessons.append(lesson)
    if not files:
        problems.append(
            Problem(folder / COURSE_FILE, 1, "the course has no lessons (NN-lesson-id.md files)")
        )
    return lessons


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """(front matter, body, body's first line) or None when the file has no front matter."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]), index + 2
    return None


def _load_lesson(
    course_id: str, lesson_id: str, position: int, path: Path, problems: list[Problem]
) -> Lesson | None:
    report = Reporter(path, problems, offset=1)  # front matter starts on line 2
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        report.at(1, f"cannot be read: {error}")
        return None
    parts = split_front_matter(text)
    if parts is None:
        report.at(1, "a lesson starts with YAML front matter between two '---' lines")
        return None
    front, body, body_line = parts
    try:
        report.doc = load(front)
    except YamlProblem as error:
        report.at(error.line + 1, error.message)
        return None
    data = report.doc.value
    if not isinstance(data, dict):
        report.at(2, "the front matter must be keys like title:, objective:, minutes:")
        return None
    unknown_keys(report, data, (), LESSON_KEYS, "a lesson")
    title = text_field(report, data, ("title",), required=True, limit=TITLE_MAX)
    objective = _objective(report, data)
    minutes = _minutes(report, data)
    lesson_format = choice_field(report, data, ("format",), LessonFormat, LessonFormat.TEXT)
    media = media_field(report, data)
    discussion = text_field(report, data, ("discussion",), limit=TEXT_MAX)
    practice = text_field(report, data, ("practice",), limit=TEXT_MAX)
    quiz = quiz_field(report, data)
    if not body.strip():
        report.at(body_line - 1, "the lesson has no body: write the lesson below the front matter")
    for line, message in templating.check_body(body):
        report.at(body_line + line - 1, message)
    if report.count:
        return None
    return Lesson(
        course_id=course_id,
        id=lesson_id,
        position=position,
        title=title,
        objective=objective,
        minutes=minutes,
        body=body,
        format=lesson_format,
        media=media,
        discussion=discussion,
        practice=practice,
        quiz=quiz,
        source=Source(path, 1),
        body_line=body_line,
    )


def _objective(report: Reporter, data: dict[str, Any]) -> str:
    if isinstance(data.get("objective"), list):
        report.key(("objective",), "a lesson has ONE objective: split it into several lessons")
        return ""
    return text_field(report, data, ("objective",), required=True, limit=TEXT_MAX)


def _minutes(report: Reporter, data: dict[str, Any]) -> int:
    low, high = MINUTES_RANGE
    if "minutes" not in data:
        report.key((), "missing 'minutes' (how long the lesson takes, 1–15)")
        return low
    value = data["minutes"]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        report.key(
            ("minutes",), f"'minutes' must be a whole number from {low} to {high}, got {value!r}"
        )
        return low
    return value
