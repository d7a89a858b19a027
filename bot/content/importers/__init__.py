"""Question banks (GIFT, Aiken, CSV) turned into a course folder of quiz lessons.

Each format has a `parse(path) -> ParsedBank` module. A file that cannot be read at all raises
`BankError` (`path:line: message`); a question that cannot be asked as a Slack quiz is left out as a
`Skipped` with its line and the reason. `import_bank` groups what is left into lessons: a category
(GIFT `$CATEGORY:`) always starts a new lesson, titled by its last path part; questions without one
make "Quiz 1", "Quiz 2" …; a run longer than `LESSON_SIZE` is split into as few, evenly sized
lessons as fit ("Unit 2 (1/2)", "Unit 2 (2/2)"). Then `writer.write_course` writes the folder.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.content.writer import slugify, write_course
from bot.domain.lesson import (
    DESCRIPTION_MAX,
    MINUTES_RANGE,
    OPTIONS_RANGE,
    TITLE_MAX,
    Course,
    Lesson,
    Option,
    Question,
    QuestionKind,
)
from bot.domain.shuffle import refers_to_places

FORMATS = {"gift": "GIFT", "aiken": "Aiken", "csv": "CSV"}
COURSE_ID = re.compile(r"[a-z0-9-]+")
LESSON_SIZE = 5
"""At most this many questions per imported lesson."""
MINUTES_PER_QUESTION = 0.75
TEXT_MAX = 3000
"""Longest question, option, feedback or explanation text: one Block Kit section."""
NAME_WIDTH = 60


class BankError(Exception):
    """A question bank that cannot be read at all, as `path:line: message`."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass(frozen=True)
class Skipped:
    """A question left out, with the line it starts on and why."""

    line: int
    name: str
    reason: str

    def __str__(self) -> str:
        return f'line {self.line}: "{self.name}" skipped: {self.reason}'


@dataclass(frozen=True)
class ParsedBank:
    """Questions (each with its category, if any), what was skipped, and line-numbered notes."""

    questions: list[tuple[Question, str | None]]
    skipped: list[Skipped]
    warnings: list[str]
    names: list[str] = field(default_factory=list)
    """The name of each question for reporting (GIFT `::name::`), parallel to `questions`."""

    def name(self, index: int) -> str:
        """The name of question `index`: its own name, or the start of its text."""
        if index < len(self.names) and self.names[index]:
            return self.names[index]
        return short_name(self.questions[index][0].text)


@dataclass(frozen=True)
class ImportReport:
    """What `import_bank` wrote, and what it left out."""

    course: Course
    folder: Path
    imported: tuple[tuple[QuestionKind, str], ...]
    skipped: tuple[Skipped, ...]
    warnings: tuple[str, ...]
    files: tuple[Path, ...] = ()

    @property
    def counts(self) -> dict[QuestionKind, int]:
        """How many questions of each kind were imported (kinds with none left out)."""
        counter = Counter(kind for kind, _ in self.imported)
        return {kind: counter[kind] for kind in QuestionKind if counter[kind]}

    def summary_lines(self) -> list[str]:
        """What the CLI prints: each question imported or skipped, the warnings, a total."""
        lines = [f"imported  {kind.value:<10}  {name}" for kind, name in self.imported]
        lines += [f"skipped  line {s.line}  {s.name}: {s.reason}" for s in self.skipped]
        lines += [f"warning  {warning}" for warning in self.warnings]
        count, lessons = len(self.imported), len(self.course.lessons)
        lines.append(
            f"Imported {_plural(count, 'question')} into {self.folder} "
            f"({_plural(lessons, 'lesson')}); skipped {len(self.skipped)}."
        )
        return lines


def parse_bank(path: Path, fmt: str) -> ParsedBank:
    """Read a question bank in `fmt` (gift, aiken or csv)."""
    from bot.content.importers import aiken, csv_bank, gift

    parsers = {"gift": gift.parse, "aiken": aiken.parse, "csv": csv_bank.parse}
    if fmt not in parsers:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    return parsers[fmt](path)


def import_bank(
    path: Path, *, fmt: str, course_id: str, into: Path, title: str | None = None
) -> ImportReport:
    """Parse `path` and write its questions as the new course `into/<course_id>/`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if not COURSE_ID.fullmatch(course_id):
        raise ValueError(
            f"course id {course_id!r} must be lowercase letters, digits and '-', like moodle-demo"
        )
    course_title = " ".join((title or "").split()) or _words(course_id)
    if len(course_title) > TITLE_MAX:
        raise ValueError(f"the title is {len(course_title)} characters; at most {TITLE_MAX} fit")
    folder = into / course_id
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ValueError(f"{folder} already exists and is not empty: pick another course id")
    parsed = parse_bank(path, fmt)
    if not parsed.questions:
        first = f" (first: {parsed.skipped[0]})" if parsed.skipped else ""
        raise BankError(path, 1, f"no question to import: {len(parsed.skipped)} skipped{first}")
    warnings = list(parsed.warnings)
    questions = keep_order_where_needed(parsed, warnings)
    lessons = group_lessons(course_id, questions, course_title=course_title, warnings=warnings)
    count = len(parsed.questions)
    course = Course(
        id=course_id,
        title=course_title,
        description=_description(path.name, FORMATS[fmt], count),
        lessons=tuple(lessons),
    )
    try:
        files = write_course(course, folder)
    except OSError as error:
        raise ValueError(f"cannot write {folder}: {error.strerror or error}") from error
    imported = tuple(
        (question.kind, parsed.name(index)) for index, (question, _) in enumerate(parsed.questions)
    )
    return ImportReport(
        course=course,
        folder=folder,
        imported=imported,
        skipped=tuple(parsed.skipped),
        warnings=tuple(warnings),
        files=tuple(files),
    )


def keep_order_where_needed(
    parsed: ParsedBank, warnings: list[str]
) -> list[tuple[Question, str | None]]:
    """The questions, with `shuffle: false` on those whose options point at others by place
    ("All of the above"): shuffled, they would point at the wrong ones."""
    kept: list[tuple[Question, str | None]] = []
    for index, (question, category) in enumerate(parsed.questions):
        pointing = next((o.text for o in question.options if refers_to_places(o.text)), None)
        if question.shuffled and pointing is not None:
            question = replace(question, shuffle=False)
            warnings.append(
                f'"{parsed.name(index)}": the option {pointing!r} points at others by place, '
                "so its options keep the file's order (shuffle: false)"
            )
        kept.append((question, category))
    return kept


def group_lessons(
    course_id: str,
    questions: list[tuple[Question, str | None]],
    *,
    course_title: str,
    warnings: list[str],
) -> list[Lesson]:
    """Lessons of at most LESSON_SIZE questions, one run per category in order of appearance."""
    groups: dict[str | None, list[Question]] = {}
    for question, category in questions:
        groups.setdefault(category, []).append(question)
    lessons: list[Lesson] = []
    taken: set[str] = set()
    quiz_number = 0
    for category, members in groups.items():
        chunks = _chunks(members)
        topic = course_title
        if category is not None:
            topic = category_title(category) or course_title
            if len(topic) > TITLE_MAX - 10:
                warnings.append(f"category {category!r}: lesson title shortened")
                topic = fit(topic, TITLE_MAX - 10)
        for number, chunk in enumerate(chunks, start=1):
            if category is None:
                quiz_number += 1
                title = f"Quiz {quiz_number}"
            else:
                title = topic if len(chunks) == 1 else f"{topic} ({number}/{len(chunks)})"
            position = len(lessons) + 1
            lessons.append(
                Lesson(
                    course_id=course_id,
                    id=_unique(slugify(title) or f"lesson-{position}", taken),
                    position=position,
                    title=title,
                    objective=f"Check what you know about {topic}",
                    minutes=lesson_minutes(len(chunk)),
                    body=_body(len(chunk)),
                    quiz=tuple(chunk),
                )
            )
    return lessons


def lesson_minutes(questions: int) -> int:
    """About 45 seconds a question, within the lesson length the format allows."""
    low, high = MINUTES_RANGE
    return min(high, max(low, math.ceil(questions * MINUTES_PER_QUESTION)))


def category_title(category: str) -> str:
    """The last part of a category path (`$course$/top/Unit 2` → `Unit 2`; `//` is a `/`)."""
    parts = [part.replace("//", "/").strip() for part in re.split(r"(?<!/)/(?!/)", category)]
    named = [part for part in parts if part]
    return " ".join(named[-1].split()) if named else ""


def question_problem(question: Question) -> str | None:
    """Why `question` cannot be asked as a Slack quiz question, or None when it can."""
    if not question.text.strip():
        return "the question has no text"
    too_long = _too_long(question)
    if too_long is not None:
        return too_long
    options, kind = question.options, question.kind
    if kind is QuestionKind.OPEN:
        return "an open question takes no options" if options else None
    return _options_problem(options) or _correct_problem(kind, len(question.correct_indexes))


def _too_long(question: Question) -> str | None:
    texts = [("the question", question.text), ("the explanation", question.explanation)]
    for number, option in enumerate(question.options, start=1):
        texts += [
            (f"option {number}", option.text),
            (f"the feedback of option {number}", option.feedback),
        ]
    for what, text in texts:
        if len(text) > TEXT_MAX:
            return f"{what} is {len(text)} characters; a Slack message section holds {TEXT_MAX}"
    return None


def _options_problem(options: tuple[Option, ...]) -> str | None:
    """How many options, and none empty or twice."""
    low, high = OPTIONS_RANGE
    if len(options) < low:
        return f"{_plural(len(options), 'option')}; a quiz question needs at least {low}"
    if len(options) > high:
        return f"{len(options)} options; Slack shows at most {high} as buttons or checkboxes"
    for number, option in enumerate(options, start=1):
        if not option.text.strip():
            return f"option {number} is empty"
    seen: set[str] = set()
    for option in options:
        if option.text in seen:
            return f"two options read {option.text!r}"
        seen.add(option.text)
    return None


def _correct_problem(kind: QuestionKind, correct: int) -> str | None:
    """How many right options the kind allows."""
    if kind in (QuestionKind.SINGLE, QuestionKind.TRUE_FALSE) and correct != 1:
        return f"a {kind.value} question needs exactly one right option, it has {correct}"
    if kind is QuestionKind.MULTIPLE and correct < 1:
        return "no option is marked right"
    if kind is QuestionKind.POLL and correct:
        return "a poll has no right answer"
    return None


def read_text(path: Path) -> str:
    """The file as text with `\\n` line ends; BankError when it is not readable UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BankError(path, 1, f"cannot be read: {error.strerror or error}") from error
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise BankError(
            path,
            line,
            f"not UTF-8 text (byte 0x{data[error.start]:02x} cannot be decoded): save it as UTF-8",
        ) from error
    return text.replace("\r\n", "\n").replace("\r", "\n")


def short_name(text: str, width: int = NAME_WIDTH) -> str:
    """The first `width` characters of `text` on one line, with … when it was cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[:width].rstrip() + "…"


def fit(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in … when cut."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _chunks(questions: list[Question]) -> list[list[Question]]:
    """As few lessons as LESSON_SIZE allows, their sizes as even as possible (6 → 3 + 3)."""
    count = math.ceil(len(questions) / LESSON_SIZE)
    size, extra = divmod(len(questions), count)
    bounds = [number * size + min(number, extra) for number in range(count + 1)]
    return [questions[bounds[i] : bounds[i + 1]] for i in range(count)]


def _unique(slug: str, taken: set[str]) -> str:
    candidate, number = slug, 1
    while candidate in taken:
        number += 1
        candidate = f"{slug}-{number}"
    taken.add(candidate)
    return candidate


def _body(questions: int) -> str:
    count = _plural(questions, "quick question")
    return f"Hi {{{{ learner.first_name }}}} — {count} from *{{{{ course.title }}}}*.\n"


def _description(file_name: str, label: str, count: int) -> str:
    tail = f" ({label}): {_plural(count, 'question')}."
    return (
        f"Imported from {fit(file_name, DESCRIPTION_MAX - len('Imported from ') - len(tail))}{tail}"
    )


def _words(course_id: str) -> str:
    words = " ".join(course_id.replace("-", " ").split())
    return words[:1].upper() + words[1:] if words else course_id


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"
