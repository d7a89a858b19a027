"""Load a lessons folder into domain types, collecting every problem as `path:line: message`."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from bot.content import templating
from bot.content.yamlines import Located, YamlProblem, load
from bot.domain.lesson import (
    DESCRIPTION_MAX,
    MINUTES_RANGE,
    OPTIONS_RANGE,
    TITLE_MAX,
    Catalog,
    Course,
    Lesson,
    LessonFormat,
    Media,
    MediaKind,
    Option,
    Question,
    QuestionKind,
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
MEDIA_KEYS = {"kind", "url", "alt"}
QUESTION_KEYS = {"question", "kind", "options", "explanation", "shuffle"}
OPTION_KEYS = {"text", "correct", "feedback"}
ALT_MAX = 2000
URL_MAX = 3000
TEXT_MAX = 3000

E = TypeVar("E", LessonFormat, MediaKind, QuestionKind)


@dataclass(frozen=True, order=True)
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


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


class _Reporter:
    """Problems for one file, placed on the line of the key they are about."""

    def __init__(self, path: Path, problems: list[Problem], offset: int = 0) -> None:
        self.path = path
        self.problems = problems
        self.offset = offset
        self.doc = Located(None)
        self.count = 0

    def at(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))
        self.count += 1

    def key(self, path: tuple[str | int, ...], message: str) -> None:
        self.at(self.doc.line(*path) + self.offset, message)

    def source(self, *path: str | int) -> Source:
        return Source(self.path, self.doc.line(*path) + self.offset)


def _load_course(folder: Path, problems: list[Problem]) -> Course | None:
    course_file = folder / COURSE_FILE
    if not COURSE_ID.match(folder.name):
        problems.append(
            Problem(folder, 1, "course folder names must be lowercase letters, digits and '-'")
        )
        return None
    report = _Reporter(course_file, problems)
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
    _unknown_keys(report, data, (), COURSE_KEYS, "course.yaml")
    title = _text(report, data, ("title",), required=True, limit=TITLE_MAX)
    description = _text(report, data, ("description",), required=True, limit=DESCRIPTION_MAX)
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


def _skills(report: _Reporter, data: dict[str, Any]) -> tuple[str, ...]:
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
    report = _Reporter(path, problems, offset=1)  # front matter starts on line 2
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
    _unknown_keys(report, data, (), LESSON_KEYS, "a lesson")
    title = _text(report, data, ("title",), required=True, limit=TITLE_MAX)
    objective = _objective(report, data)
    minutes = _minutes(report, data)
    lesson_format = _choice(report, data, ("format",), LessonFormat, LessonFormat.TEXT)
    media = _media(report, data)
    discussion = _text(report, data, ("discussion",), limit=TEXT_MAX)
    practice = _text(report, data, ("practice",), limit=TEXT_MAX)
    quiz = _quiz(report, data)
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


def _unknown_keys(
    report: _Reporter,
    data: dict[Any, Any],
    path: tuple[str | int, ...],
    allowed: set[str],
    what: str,
) -> None:
    for key in data:
        if key not in allowed:
            hint = _closest(str(key), allowed)
            suggestion = f" (did you mean {hint!r}?)" if hint else ""
            keys = ", ".join(sorted(allowed))
            report.key((*path, str(key)), f"unknown key {key!r}{suggestion}; {what} takes {keys}")


def _closest(word: str, candidates: set[str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _text(
    report: _Reporter,
    data: dict[str, Any],
    path: tuple[str | int, ...],
    *,
    required: bool = False,
    limit: int | None = None,
) -> str:
    name = str(path[-1])
    value = data.get(name)
    if value is None:
        if required:
            where = path[:-1] if name not in data else path
            report.key(where, f"missing {name!r}")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        report.key(path, f"{name!r} must be text")
        return ""
    text = str(value).strip()
    if required and not text:
        report.key(path, f"{name!r} is empty")
    if limit is not None and len(text) > limit:
        report.key(path, f"{name!r} is {len(text)} characters; at most {limit} fit")
    return text


def _objective(report: _Reporter, data: dict[str, Any]) -> str:
    if isinstance(data.get("objective"), list):
        report.key(("objective",), "a lesson has ONE objective: split it into several lessons")
        return ""
    return _text(report, data, ("objective",), required=True, limit=TEXT_MAX)


def _minutes(report: _Reporter, data: dict[str, Any]) -> int:
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


def _choice(
    report: _Reporter,
    data: dict[str, Any],
    path: tuple[str | int, ...],
    kind: Callable[[str], E],
    default: E,
) -> E:
    name = str(path[-1])
    value = data.get(name)
    if value is None:
        return default
    try:
        return kind(str(value))
    except ValueError:
        choices = " | ".join(member.value for member in type(default))
        report.key(path, f"{name!r} must be one of {choices}, got {value!r}")
        return default


def _media(report: _Reporter, data: dict[str, Any]) -> tuple[Media, ...]:
    items = data.get("media")
    if items is None:
        return ()
    if not isinstance(items, list):
        report.key(("media",), "'media' must be a list of items with kind, url and alt")
        return ()
    media: list[Media] = []
    for index, item in enumerate(items):
        path: tuple[str | int, ...] = ("media", index)
        if not isinstance(item, dict):
            report.key(path, "each media item has kind, url and (for images) alt")
            continue
        _unknown_keys(report, item, path, MEDIA_KEYS, "a media item")
        if "kind" not in item:
            report.key(path, "missing 'kind' (image | video | audio | link)")
        kind = _choice(report, item, (*path, "kind"), MediaKind, MediaKind.LINK)
        url = _text(report, item, (*path, "url"), required=True, limit=URL_MAX)
        parts = urlsplit(url)
        if url and (parts.scheme not in ("http", "https") or not parts.netloc):
            report.key(
                (*path, "url"), f"media URLs must start with https:// or http://, got {url!r}"
            )
        alt = _text(report, item, (*path, "alt"), limit=ALT_MAX)
        if kind is MediaKind.IMAGE and not alt:
            report.key(path, "images need 'alt': a short description for screen readers")
        media.append(Media(kind=kind, url=url, alt=alt, source=report.source(*path)))
    return tuple(media)


def _quiz(report: _Reporter, data: dict[str, Any]) -> tuple[Question, ...]:
    items = data.get("quiz")
    if items is None:
        return ()
    if not isinstance(items, list):
        report.key(("quiz",), "'quiz' must be a list of questions")
        return ()
    return tuple(
        question
        for index, item in enumerate(items)
        if (question := _question(report, item, ("quiz", index))) is not None
    )


def _question(report: _Reporter, item: Any, path: tuple[str | int, ...]) -> Question | None:
    if not isinstance(item, dict):
        report.key(path, "each quiz item has question, kind, options and explanation")
        return None
    before = report.count
    _unknown_keys(report, item, path, QUESTION_KEYS, "a quiz question")
    text = _text(report, item, (*path, "question"), required=True, limit=TEXT_MAX)
    kind = _choice(report, item, (*path, "kind"), QuestionKind, QuestionKind.SINGLE)
    explanation = _text(report, item, (*path, "explanation"), limit=TEXT_MAX)
    options = _options(report, item, path)
    _check_kind_rules(report, path, kind, options)
    shuffle = item.get("shuffle", True)
    if not isinstance(shuffle, bool):
        report.key(
            (*path, "shuffle"),
            f"'shuffle' must be true or false, got {shuffle!r}; 'shuffle: false' shows the "
            "options in file order",
        )
    if report.count > before:
        return None
    return Question(
        text=text,
        kind=kind,
        options=options,
        explanation=explanation,
        source=report.source(*path),
        shuffle=shuffle,
    )


def _options(
    report: _Reporter, item: dict[str, Any], path: tuple[str | int, ...]
) -> tuple[Option, ...]:
    raw = item.get("options")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        report.key((*path, "options"), "'options' must be a list")
        return ()
    options: list[Option] = []
    for index, entry in enumerate(raw):
        option_path: tuple[str | int, ...] = (*path, "options", index)
        if isinstance(entry, str):
            entry = {"text": entry}
        if not isinstance(entry, dict):
            report.key(option_path, "each option has text, and optionally correct and feedback")
            continue
        _unknown_keys(report, entry, option_path, OPTION_KEYS, "an option")
        text = _text(report, entry, (*option_path, "text"), required=True, limit=TEXT_MAX)
        correct = entry.get("correct", False)
        if not isinstance(correct, bool):
            report.key(
                (*option_path, "correct"), f"'correct' must be true or false, got {correct!r}"
            )
            correct = False
        feedback = _text(report, entry, (*option_path, "feedback"), limit=TEXT_MAX)
        options.append(Option(text, correct, feedback, source=report.source(*option_path)))
    return tuple(options)


def _check_kind_rules(
    report: _Reporter, path: tuple[str | int, ...], kind: QuestionKind, options: tuple[Option, ...]
) -> None:
    at = (*path, "options") if (*path, "options") in report.doc.lines else path
    correct = sum(option.correct for option in options)
    low, high = OPTIONS_RANGE
    if kind is QuestionKind.OPEN:
        if options:
            report.key(at, "an 'open' question takes no options: people type their answer")
        return
    if not low <= len(options) <= high:
        report.key(
            at, f"a {kind.value!r} question needs {low}–{high} options, it has {len(options)}"
        )
    if kind is QuestionKind.TRUE_FALSE and len(options) != 2:
        report.key(at, "a 'true_false' question has exactly two options (True and False)")
    if kind in (QuestionKind.SINGLE, QuestionKind.TRUE_FALSE) and correct != 1:
        report.key(
            at, f"a {kind.value!r} question has exactly one correct option, it has {correct}"
        )
    if kind is QuestionKind.MULTIPLE and correct < 1:
        report.key(at, "a 'multiple' question needs at least one correct option")
    if kind is QuestionKind.POLL and correct:
        report.key(at, "a 'poll' has no correct option: remove 'correct: true'")
