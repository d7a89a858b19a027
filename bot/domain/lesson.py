"""Courses, lessons and quiz questions as authored, independent of files, Slack and storage."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

TEMPLATE_VARIABLES = ("learner.first_name", "course.title", "lesson.number", "lesson.total")
"""The only Jinja2 variables a lesson body may use."""
TEMPLATE_FILTERS = ("capitalize", "default", "lower", "title", "trim", "upper")
"""The only Jinja2 filters a lesson body may use (`default` with one plain value)."""

TITLE_MAX = 150
DESCRIPTION_MAX = 300
MINUTES_RANGE = (1, 15)
OPTIONS_RANGE = (2, 10)


class QuestionKind(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    TRUE_FALSE = "true_false"
    POLL = "poll"
    OPEN = "open"

    @property
    def graded(self) -> bool:
        """Whether answers are right or wrong (polls and open answers are neither)."""
        return self in (QuestionKind.SINGLE, QuestionKind.MULTIPLE, QuestionKind.TRUE_FALSE)


SHUFFLED_KINDS = frozenset({QuestionKind.SINGLE, QuestionKind.MULTIPLE, QuestionKind.POLL})
"""Kinds whose options each learner sees in an order of their own; True/False stays put."""


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    LINK = "link"


class LessonFormat(StrEnum):
    TEXT = "text"
    VIDEO = "video"
    AUDIO = "audio"
    INFOGRAPHIC = "infographic"


@dataclass(frozen=True)
class Source:
    """Where something was written: file and 1-based line."""

    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class Option:
    text: str
    correct: bool = False
    feedback: str = ""
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Question:
    text: str
    kind: QuestionKind = QuestionKind.SINGLE
    options: tuple[Option, ...] = ()
    explanation: str = ""
    source: Source | None = field(default=None, compare=False)
    shuffle: bool = True  # False: options are shown in file order (`shuffle: false`)

    @property
    def shuffled(self) -> bool:
        """Whether learners see the options in an order of their own (see domain/shuffle.py)."""
        return self.shuffle and self.kind in SHUFFLED_KINDS

    @property
    def correct_indexes(self) -> frozenset[int]:
        """0-based indexes of the correct options."""
        return frozenset(i for i, option in enumerate(self.options) if option.correct)


@dataclass(frozen=True)
class Media:
    kind: MediaKind
    url: str
    alt: str = ""
    source: Source | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Lesson:
    course_id: str
    id: str
    position: int
    title: str
    objective: str
    minutes: int
    body: str
    format: LessonFormat = LessonFormat.TEXT
    media: tuple[Media, ...] = ()
    discussion: str = ""
    practice: str = ""
    quiz: tuple[Question, ...] = ()
    source: Source | None = field(default=None, compare=False)
    body_line: int = field(default=1, compare=False)

    @property
    def key(self) -> str:
        """The full address, `<course-id>/<lesson-id>`."""
        return f"{self.course_id}/{self.id}"


@dataclass(frozen=True)
class Course:
    id: str
    title: str
    description: str
    skills: tuple[str, ...] = ()
    lessons: tuple[Lesson, ...] = ()
    source: Source | None = field(default=None, compare=False)

    def lesson(self, lesson_id: str) -> Lesson | None:
        return next((lesson for lesson in self.lessons if lesson.id == lesson_id), None)


@dataclass(frozen=True)
class Catalog:
    """Every course of a lessons folder, in folder-name order."""

    courses: tuple[Course, ...] = ()

    def course(self, course_id: str) -> Course | None:
        return next((course for course in self.courses if course.id == course_id), None)

    def find_lessons(self, address: str) -> list[Lesson]:
        """Lessons matching `<course>/<lesson>`, or a bare lesson id (several if ambiguous)."""
        course_id, slash, lesson_id = address.partition("/")
        if slash:
            course = self.course(course_id)
            found = course.lesson(lesson_id) if course else None
            return [found] if found else []
        return [
            lesson for course in self.courses for lesson in course.lessons if lesson.id == address
        ]

    @property
    def question_count(self) -> int:
        return sum(len(lesson.quiz) for course in self.courses for lesson in course.lessons)

    @property
    def lesson_count(self) -> int:
        return sum(len(course.lessons) for course in self.courses)
