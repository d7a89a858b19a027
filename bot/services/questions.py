"""Question analysis for authors: `<course>-questions.csv` and `microlearn lessons stats`.

Built from stored answers with the pure rules of bot.domain.analysis: first tries only, a
learner's course score being their share of right first tries over the course's graded
questions. Rates are written as fractions with three decimals (0.667).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.domain.analysis import FirstTry, Flag, FlagKind, QuestionAnalysis, analyse
from bot.domain.lesson import Course, Lesson, Question
from bot.domain.quiz import Choice
from bot.services.csvfile import Cell, csv_bytes
from bot.storage.answer_reports import AnswerRow

QUESTIONS_COLUMNS = (
    "course",
    "lesson",
    "question",
    "kind",
    "answered",
    "first_try_right",
    "first_try_accuracy",
    "option",
    "option_picks",
    "option_pick_rate",
    "discrimination",
)


@dataclass(frozen=True)
class AnalysedQuestion:
    lesson: Lesson
    number: int
    question: Question
    analysis: QuestionAnalysis

    @property
    def label(self) -> str:
        return f"{self.lesson.id} Q{self.number}"


def questions_filename(course_id: str) -> str:
    return f"{course_id}-questions.csv"


def analyse_course(course: Course, rows: Iterable[AnswerRow]) -> list[AnalysedQuestion]:
    """Every question of the course, in course order, analysed from the answers' first tries."""
    keyed = [
        (f"{lesson.id}#{number}", lesson, number, question)
        for lesson in course.lessons
        for number, question in enumerate(lesson.quiz, start=1)
    ]
    kinds = {key: question.kind for key, _, _, question in keyed}
    tries = []
    for row in rows:
        key = f"{row.lesson}#{row.position}"
        if row.attempt != 1 or key not in kinds:
            continue
        choice = Choice.decode(kinds[key], row.choice)
        tries.append(FirstTry(row.user_id, key, frozenset(choice.options), row.correct))
    analyses = analyse([(key, q) for key, _, _, q in keyed], tries, course_scores(tries))
    return [
        AnalysedQuestion(lesson, number, question, analysis)
        for (_, lesson, number, question), analysis in zip(keyed, analyses, strict=True)
    ]


def course_scores(tries: Sequence[FirstTry]) -> dict[str, float]:
    """Each learner's share of right first tries among the graded questions they answered."""
    right: dict[str, int] = {}
    graded: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    for attempt in tries:
        if attempt.correct is None or (attempt.learner, attempt.question) in seen:
            continue
        seen.add((attempt.learner, attempt.question))
        graded[attempt.learner] = graded.get(attempt.learner, 0) + 1
        right[attempt.learner] = right.get(attempt.learner, 0) + int(attempt.correct)
    return {learner: right[learner] / count for learner, count in graded.items()}


def questions_csv(course: Course, analysed: Sequence[AnalysedQuestion]) -> bytes:
    """One row per option of a graded question; one row, option columns empty, for the rest."""
    rows: list[list[Cell]] = []
    for item in analysed:
        a = item.analysis
        head: list[Cell] = [
            course.id,
            item.lesson.id,
            item.question.text,
            item.question.kind.value,
            a.answered,
            a.first_try_right,
            _rate(a.accuracy),
        ]
        spread = _rate(a.discrimination)
        if not a.options:
            rows.append([*head, None, None, None, spread])
            continue
        for option in a.options:
            rows.append([*head, option.text, option.picks, _rate(option.pick_rate), spread])
    return csv_bytes(QUESTIONS_COLUMNS, rows)


def stats_table(course: Course, analysed: Sequence[AnalysedQuestion]) -> list[str]:
    """`microlearn lessons stats`: the CSV's figures as a table, then each question's flags."""
    lines = [f"{course.title} ({course.id}): question analysis, first tries only", ""]
    header = (
        f"{'question':<28} {'kind':<10} {'answered':>8} {'right':>6} {'accuracy':>8} {'discr.':>7}"
    )
    lines.append(header)
    lines.append("-" * len(header))
    for item in analysed:
        a = item.analysis
        right = "" if a.first_try_right is None else str(a.first_try_right)
        lines.append(
            f"{_cut(item.label, 28):<28} {item.question.kind.value:<10} {a.answered:>8} "
            f"{right:>6} {_percent(a.accuracy):>8} {_rate(a.discrimination) or '':>7}"
        )
        lines.append(f"    {_cut(item.question.text, 90)}")
        for option in a.options:
            mark = "*" if option.correct else " "
            lines.append(
                f"    {mark} {_cut(option.text, 50):<50} {option.picks:>5} picked "
                f"{_percent(option.pick_rate):>6}"
            )
    flagged = [(item, flag) for item in analysed for flag in item.analysis.flags]
    lines.append("")
    if not flagged:
        lines.append("No flags: nothing nearly everyone gets right or wrong, no unpicked option.")
    else:
        lines.append("Flags:")
        lines.extend(f"  {item.label}: {describe_flag(item, flag)}" for item, flag in flagged)
    lines.append("(* marks the right options; discrimination needs 10 learners.)")
    return lines


def describe_flag(item: AnalysedQuestion, flag: Flag) -> str:
    a = item.analysis
    if flag.kind is FlagKind.EASY:
        return f"nearly everyone gets it right ({_percent(a.accuracy)} of {a.answered})"
    if flag.kind is FlagKind.HARD:
        return f"nearly everyone gets it wrong ({_percent(a.accuracy)} of {a.answered} right)"
    if flag.kind is FlagKind.UNPICKED and flag.option is not None:
        option = a.options[flag.option]
        return f"distractor nobody picks: “{_cut(option.text, 60)}” ({_percent(option.pick_rate)})"
    return f"negative discrimination ({_rate(a.discrimination)}): stronger learners miss it more"


def _rate(value: float | None) -> str | None:
    return None if value is None else f"{value:.3f}"


def _percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.0f} %"


def _cut(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
