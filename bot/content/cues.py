"""Giveaway cues: quizzes a learner can pass without knowing the material, as warnings.

Every check is a pure function over the loaded courses. What counts as a cue:

- a right option much longer than the wrong ones: over 1.5 times the longest wrong one and at
  least 10 characters more, measured as read (Markdown marks and link targets left out);
- in a course, the right option the longest in 75 % or more of at least 4 single-choice
  questions (with 3 options or more);
- in a course, 75 % or more of at least 4 true/false questions with the same answer;
- in a lesson, the same option in two questions (true/false, two-option questions and polls
  aside);
- in a `single` question with 3 options or more, a right option that alone differs from the
  wrong ones in quotation marks, code formatting, a trailing period or a leading capital;
- in a course, the right option of the single-choice questions always in the same place, never
  first or never last; or the wrong options of every select-all question last — when a random
  order would do that less than 1 time in 20 (so "never last" needs about 11 four-option
  questions, "always first" 3). Only questions shown in file order (`shuffle: false`) count:
  the others reach each learner in an order of their own;
- an option that points at others by place ("All of the above", "A and C") in a question whose
  options are shuffled: it needs `shuffle: false`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.domain.lesson import Catalog, Course, Lesson, Option, Question, QuestionKind, Source
from bot.domain.shuffle import refers_to_places

LONGER_BY = 1.5  # a right option over this many times the longest wrong one stands out ...
LONGER_AT_LEAST = 10  # ... when it is also this many characters longer
MOSTLY = 0.75  # share of a course's questions that makes a pattern
AT_LEAST = 4  # questions a course needs before a share means anything
CHANCE = 0.05  # a position pattern a random order makes less often than this is a cue

QUOTES = "\"'“”‘’«»„‚"
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)|<[^|>]*\|([^>]*)>")
_MARKS = re.compile(r"[*_~`]")


@dataclass(frozen=True, order=True)
class Cue:
    """A warning on a file and line: it never stops `serve`, unlike a loader problem."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: warning: {self.message}"


def find_cues(catalog: Catalog) -> list[Cue]:
    """Every giveaway cue in a catalog, sorted by file and line."""
    cues: list[Cue] = []
    for course in catalog.courses:
        cues.extend(course_cues(course))
        for lesson in course.lessons:
            cues.extend(lesson_cues(lesson))
    return sorted(cues)


def lesson_cues(lesson: Lesson) -> Iterator[Cue]:
    """Cues within one lesson: per question, and options repeated across its questions."""
    for question in lesson.quiz:
        yield from _longer_right_option(lesson, question)
        yield from _odd_one_out(lesson, question)
        yield from _option_by_place(lesson, question)
    yield from _repeated_options(lesson)


def course_cues(course: Course) -> Iterator[Cue]:
    """Cues only a whole course shows: answer polarity, lengths and positions."""
    yield from _true_false_polarity(course)
    yield from _right_mostly_longest(course)
    yield from _right_position(course)
    yield from _wrong_options_last(course)


def read_length(text: str) -> int:
    """Characters as a learner reads them: Markdown marks and link targets left out."""
    plain = _MARKS.sub("", _LINK.sub(lambda m: m.group(1) or m.group(2) or "", text))
    return len(" ".join(plain.split()))


def _at(message: str, *sources: Source | None) -> Cue:
    """A cue on the first known line of `sources` (options, then their question, then file)."""
    where = next(source for source in sources if source is not None)
    return Cue(where.path, where.line, message)


def _in_lesson(lesson: Lesson, message: str, *sources: Source | None) -> Cue:
    return _at(message, *sources, lesson.source or Source(Path(lesson.key), 1))


def _course_cue(course: Course, message: str) -> Cue:
    return _at(message, course.source, Source(Path(course.id), 1))


def _wrong(question: Question) -> list[Option]:
    return [option for option in question.options if not option.correct]


def _longer_right_option(lesson: Lesson, question: Question) -> Iterator[Cue]:
    if question.kind not in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        return
    wrong = _wrong(question)
    if not wrong:
        return
    longest_wrong = max(read_length(option.text) for option in wrong)
    for option in question.options:
        length = read_length(option.text)
        if (
            option.correct
            and length > LONGER_BY * longest_wrong
            and length - longest_wrong >= LONGER_AT_LEAST
        ):
            yield _in_lesson(
                lesson,
                f"the right option is much longer than the others ({length} characters; the "
                f"longest wrong one has {longest_wrong}): learners pick the longest option, so "
                "shorten it or lengthen the others",
                option.source,
                question.source,
            )


def _strip_marks(text: str) -> str:
    return text.strip().strip("*_~").strip()


def _quoted(text: str) -> bool:
    plain = _strip_marks(text)
    return len(plain) > 1 and plain[0] in QUOTES and plain[-1] in QUOTES


def _capital(text: str) -> bool:
    first = next((char for char in text if char.isalpha()), "")
    return first.isupper()


SIGNALS: tuple[tuple[str, str, Callable[[str], bool]], ...] = (
    ("in quotation marks", "not in quotation marks", _quoted),
    ("with code formatting", "without code formatting", lambda text: "`" in text),
    ("ending with a period", "not ending with a period", lambda t: _strip_marks(t).endswith(".")),
    ("starting with a capital letter", "not starting with a capital letter", _capital),
)


def _odd_one_out(lesson: Lesson, question: Question) -> Iterator[Cue]:
    wrong = _wrong(question)
    if question.kind is not QuestionKind.SINGLE or len(wrong) < 2:
        return
    right = next(option for option in question.options if option.correct)
    for with_it, without_it, signal in SIGNALS:
        seen = {signal(option.text) for option in wrong}
        if len(seen) == 1 and signal(right.text) not in seen:
            how = with_it if signal(right.text) else without_it
            yield _in_lesson(
                lesson,
                f"the right option is the only one {how}: learners spot the odd one out, so "
                "phrase the options alike",
                right.source,
                question.source,
            )
            return


def _comparable(text: str) -> str:
    plain = _MARKS.sub("", text).strip().strip(QUOTES).rstrip(".!?").strip()
    return " ".join(plain.casefold().split())


def _repeated_options(lesson: Lesson) -> Iterator[Cue]:
    first_seen: dict[str, Question] = {}
    for question in lesson.quiz:
        graded = question.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE)
        # Two options are a yes/no choice however they are worded: repeating them says nothing.
        if not graded or len(question.options) < 3:
            continue
        for key, option in {_comparable(o.text): o for o in reversed(question.options)}.items():
            earlier = first_seen.setdefault(key, question)
            if earlier is question:
                continue
            line = earlier.source.line if earlier.source else 1
            yield _in_lesson(
                lesson,
                f"the option {option.text!r} is also an option of the question on line {line}: "
                "a repeated option tells learners something about both questions, so word them "
                "differently",
                option.source,
                question.source,
            )


def _option_by_place(lesson: Lesson, question: Question) -> Iterator[Cue]:
    if not question.shuffled:
        return
    for option in question.options:
        if refers_to_places(option.text):
            yield _in_lesson(
                lesson,
                f"the option {option.text!r} points at other options by their place, but each "
                "learner sees the options in an order of their own: add 'shuffle: false' to "
                "the question to keep the file order, or reword the option",
                option.source,
                question.source,
            )
            return


def _questions(
    course: Course, kind: QuestionKind, *, min_options: int = 2, in_file_order: bool = False
) -> list[Question]:
    """The course's questions of `kind`; `in_file_order`: only those shown unshuffled."""
    return [
        question
        for lesson in course.lessons
        for question in lesson.quiz
        if question.kind is kind
        and len(question.options) >= min_options
        and not (in_file_order and question.shuffled)
    ]


def _mostly(count: int, total: int) -> bool:
    return total >= AT_LEAST and count >= MOSTLY * total


def _true_false_polarity(course: Course) -> Iterator[Cue]:
    answers = Counter(
        next(option.text for option in question.options if option.correct)
        for question in _questions(course, QuestionKind.TRUE_FALSE)
    )
    if not answers:
        return
    total = sum(answers.values())
    answer, count = answers.most_common(1)[0]
    if _mostly(count, total):
        yield _course_cue(
            course,
            f"{count} of the course's {total} true/false questions are answered {answer!r}: "
            f"answering {answer!r} every time scores {round(100 * count / total)} %, so turn "
            "some statements around",
        )


def _right_mostly_longest(course: Course) -> Iterator[Cue]:
    questions = _questions(course, QuestionKind.SINGLE, min_options=3)
    longest = 0
    for question in questions:
        right = max(read_length(o.text) for o in question.options if o.correct)
        longest += right > max(read_length(o.text) for o in _wrong(question))
    if _mostly(longest, len(questions)):
        yield _course_cue(
            course,
            f"the right option is the longest in {longest} of the course's {len(questions)} "
            "single-choice questions: learners pick the longest option, so make a wrong one the "
            "longest in some of them",
        )


def _right_position(course: Course) -> Iterator[Cue]:
    questions = _questions(course, QuestionKind.SINGLE, in_file_order=True)
    if len(questions) < 2:
        return
    places = [(min(q.correct_indexes), len(q.options)) for q in questions]
    always = math.prod(1 / size for _, size in places)
    never = math.prod(1 - 1 / size for _, size in places)
    patterns = (
        ("always the first one", always, all(index == 0 for index, _ in places)),
        ("always the last one", always, all(index == size - 1 for index, size in places)),
        (
            f"always option {places[0][0] + 1}",
            always,
            all(index == places[0][0] for index, _ in places),
        ),
        ("never the first one", never, all(index != 0 for index, _ in places)),
        ("never the last one", never, all(index != size - 1 for index, size in places)),
    )
    for pattern, chance, holds in patterns:
        if holds and chance < CHANCE:
            yield _course_cue(
                course,
                f"the right option is {pattern} in the course's {len(questions)} single-choice "
                f"questions shown in file order (a random order would do that {_in_100(chance)}): "
                "learners notice, so move some right answers elsewhere",
            )
            return


def _wrong_options_last(course: Course) -> Iterator[Cue]:
    questions = [
        q for q in _questions(course, QuestionKind.MULTIPLE, in_file_order=True) if _wrong(q)
    ]
    if not questions or not all(_wrong_last(question) for question in questions):
        return
    chance = math.prod(1 / math.comb(len(q.options), len(q.correct_indexes)) for q in questions)
    if chance < CHANCE:
        yield _course_cue(
            course,
            f"the wrong options come last in all {len(questions)} select-all questions of the "
            f"course shown in file order (a random order would do that {_in_100(chance)}): "
            "learners notice, so mix them in",
        )


def _wrong_last(question: Question) -> bool:
    wrong = [index for index, option in enumerate(question.options) if not option.correct]
    return min(wrong) > max(question.correct_indexes)


def _in_100(chance: float) -> str:
    times = round(100 * chance)
    if times < 1:
        return "less than once in 100"
    return "once in 100" if times == 1 else f"{times} times in 100"
